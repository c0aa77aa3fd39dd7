"""A team's or a staff member's visits of one local day, and the citizen's next visit.

These are the read models the nurse's call list, the calendar feed and the kiosk share, so they
always agree: all three read `visit` rows, never the plans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..models import Channel, Citizen, Staff, Visit, VisitStatus, VisitType
from .recurrence import LOCAL_ZONE

KIOSK_LOOKAHEAD = dt.timedelta(days=14)
LIVE = (VisitStatus.RINGING, VisitStatus.IN_CALL)
OPEN_FOR_KIOSK = (VisitStatus.PLANNED, VisitStatus.NOT_ANSWERED, *LIVE)


class DayListRow(NamedTuple):
    """One visit on a day list (a named tuple: built straight from a result row, cheaply)."""

    visit_id: int
    plan_id: int | None
    citizen_id: int
    citizen_name: str
    citizen_preferred_name: str | None
    team_id: int
    visit_type: str
    visit_type_name_da: str
    visit_type_name_en: str
    non_swappable: bool
    planned_at: dt.datetime  # aware UTC
    window_min: int
    duration_min: int
    channel: Channel
    status: VisitStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    assigned_staff_id: int | None
    assigned_staff_name: str | None

    @property
    def window_start(self) -> dt.datetime:
        """When the visit may start."""
        return self.planned_at - dt.timedelta(minutes=self.window_min)

    @property
    def window_end(self) -> dt.datetime:
        """When the window closes."""
        return self.planned_at + dt.timedelta(minutes=self.window_min)


@dataclass(frozen=True, slots=True)
class NextVisit:
    """The citizen's next visit; ``server/kiosk_home.py`` words it for the tablet."""

    visit_id: int
    planned_at: dt.datetime
    channel: Channel
    visit_type_name_da: str
    staff_name: str | None
    staff_photo_url: str | None


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where a Copenhagen day starts and the next one starts (23-25 h apart)."""
    start = dt.datetime.combine(day, dt.time.min, LOCAL_ZONE).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, LOCAL_ZONE)
    return start, end.astimezone(dt.UTC)


async def day_list(
    session: AsyncSession,
    day: dt.date,
    *,
    team_ids: list[int] | None = None,
    staff_id: int | None = None,
    include_cancelled: bool = False,
) -> list[DayListRow]:
    """Visits on local date `day` for the teams and/or the assigned staff member, by time."""
    start, end = local_day_bounds(day)
    query = _DAY_QUERY.where(Visit.planned_at >= start, Visit.planned_at < end)
    if team_ids is not None:
        query = query.where(Visit.team_id.in_(team_ids))
    if staff_id is not None:
        query = query.where(Visit.assigned_staff_id == staff_id)
    if not include_cancelled:
        query = query.where(Visit.status != VisitStatus.CANCELLED)
    # A Core execution on the session's connection, fetched at once: plain rows, no ORM
    # loading machinery and no per-row fetch.
    connection = await session.connection()
    rows = (await connection.execute(query)).all()
    return list(map(DayListRow._make, rows))


# In DayListRow's field order (its last field, the assignee's name, is added by the query).
_COLUMNS = (
    Visit.id,
    Visit.plan_id,
    Visit.citizen_id,
    Citizen.name,
    Citizen.preferred_name,
    Visit.team_id,
    VisitType.code,
    VisitType.name_da,
    VisitType.name_en,
    VisitType.non_swappable,
    Visit.planned_at,
    Visit.window_min,
    Visit.duration_min,
    Visit.channel,
    Visit.status,
    Visit.attempts,
    Visit.next_attempt_at,
    Visit.assigned_staff_id,
)

_ASSIGNEE = aliased(Staff)
# Built once: plain columns, not entities (a 750-visit team day otherwise spends most of its
# time building ORM objects, see docs/benchmarks.md). The (team_id, planned_at) filter is
# served by ix_visit_team_id_planned_at.
_DAY_QUERY = (
    select(*_COLUMNS, _ASSIGNEE.display_name)
    .join(Citizen, Citizen.id == Visit.citizen_id)
    .join(VisitType, VisitType.id == Visit.visit_type_id)
    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Visit.assigned_staff_id)
    .order_by(Visit.planned_at, Citizen.name, Visit.id)
)


async def next_visit_for_citizen(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> NextVisit | None:
    """The citizen's current or next visit: one ringing or in a call, else the next open window.

    A visit being rung or in a call counts even after its window ended (a call may run over),
    so the tablet's idle screen never jumps to the next visit in the middle of one.
    """
    rows = await session.execute(
        select(Visit, VisitType.name_da, Staff.display_name, Staff.photo_url)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .outerjoin(Staff, Staff.id == Visit.assigned_staff_id)
        .where(
            Visit.citizen_id == citizen_id,
            Visit.status.in_(OPEN_FOR_KIOSK),
            Visit.planned_at >= now - dt.timedelta(hours=4),
            Visit.planned_at <= now + KIOSK_LOOKAHEAD,
        )
        .order_by(Visit.planned_at, Visit.id)
    )
    upcoming: list[NextVisit] = []
    for visit, type_name, staff_name, photo in rows:
        found = NextVisit(visit.id, visit.planned_at, visit.channel, type_name, staff_name, photo)
        if visit.status in LIVE:
            return found  # the visit happening now wins over an earlier one still open
        if visit.planned_at + dt.timedelta(minutes=visit.window_min) > now:
            upcoming.append(found)
    return upcoming[0] if upcoming else None
