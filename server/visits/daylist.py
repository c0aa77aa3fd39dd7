"""The one day-list read model: the visits of local days, for a viewer, a team, a staff member
or a citizen, with each tablet's readiness and the outcome in force.

The nurse's call list, the JSON API, the call view, the calendar feed, the tablet's next visit
and the benchmark all read it, so they always agree: they read ``visit`` rows, never plans.
Days are the organisation's local dates (``Settings.timezone``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..localtime import day_bounds
from ..models import Call, Citizen, ContactPerson, Staff, Visit, VisitType
from ..vocabulary import Channel, OutcomeKind, VisitStatus
from .outcomes import in_force_of
from .readiness import Tablet, citizens_tablets
from .status import FINISHED, LIVE, ListStatus, Window, list_status

KIOSK_LOOKBACK = dt.timedelta(hours=4)  # a call may run over its window
KIOSK_LOOKAHEAD = dt.timedelta(days=14)
OPEN_FOR_KIOSK = frozenset({VisitStatus.PLANNED, VisitStatus.NOT_ANSWERED, *LIVE})


@dataclass(frozen=True, slots=True)
class DayScope:
    """Whose visits a day list holds; every part that is set narrows it."""

    citizens: ColumnElement[bool] | None = None  # only these citizens (a viewer's scope)
    contact_person: int | None = None  # marks as "mine" this staff member's own citizens
    team_ids: Collection[int] | None = None  # visits of these teams
    staff_id: int | None = None  # visits assigned to this staff member
    citizen_id: int | None = None  # one citizen's visits
    include_cancelled: bool = False
    details: bool = True  # readiness, outcome in force and "mine" (three more queries)


class LastCall(NamedTuple):
    """How the visit's latest ended call ended (an ``EndReason`` value), and when."""

    reason: str
    ended_at: dt.datetime


class DayVisit(NamedTuple):
    """One visit on a day list (a named tuple: built straight from a result row, cheaply;
    a 750-visit team day is read within the day list's 20 ms goal, docs/benchmarks.md)."""

    visit_id: int
    plan_id: int | None
    citizen_id: int
    citizen_name: str
    preferred_name: str | None
    photo_url: str | None
    team_id: int
    visit_type: str
    visit_type_name_da: str
    visit_type_name_en: str
    non_swappable: bool
    camera_off: bool
    planned_at: dt.datetime  # aware UTC
    window_min: int
    duration_min: int
    channel: Channel
    status: VisitStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    assigned_staff_id: int | None
    assigned_staff_name: str | None
    assigned_staff_photo_url: str | None
    read_at: dt.datetime  # when the list was read: the clock of `shown`
    mine: bool = False  # the viewer is one of the citizen's contact persons
    outcome: OutcomeKind | None = None  # the outcome in force
    tablet: Tablet | None = None  # the citizen's active tablet (None: none, or no details)
    last_call: LastCall | None = None  # the latest ended call for the visit (details only)

    @property
    def window(self) -> Window:
        """The visit's window."""
        return Window(self.planned_at, self.window_min)

    @property
    def shown(self) -> ListStatus:
        """The status as the call list shows it at the time of the read."""
        return list_status(self.status, self.window, self.read_at)

    def type_name(self, language: str) -> str:
        """The visit type's name in the reader's language."""
        return self.visit_type_name_en if language == "en" else self.visit_type_name_da


_ASSIGNEE = aliased(Staff)
# Plain columns, not entities: a 750-visit team day otherwise spends most of its time building
# ORM objects (docs/benchmarks.md). The (team_id, planned_at) filter uses
# ix_visit_team_id_planned_at. In DayVisit's field order, up to `read_at`.
_SELECT = (
    select(
        Visit.id,
        Visit.plan_id,
        Visit.citizen_id,
        Citizen.name,
        Citizen.preferred_name,
        Citizen.photo_url,
        Visit.team_id,
        VisitType.code,
        VisitType.name_da,
        VisitType.name_en,
        VisitType.non_swappable,
        VisitType.camera_off_by_default,
        Visit.planned_at,
        Visit.window_min,
        Visit.duration_min,
        Visit.channel,
        Visit.status,
        Visit.attempts,
        Visit.next_attempt_at,
        Visit.assigned_staff_id,
        _ASSIGNEE.display_name,
        _ASSIGNEE.photo_url,
    )
    .join(Citizen, Citizen.id == Visit.citizen_id)
    .join(VisitType, VisitType.id == Visit.visit_type_id)
    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Visit.assigned_staff_id)
    .order_by(Visit.planned_at, Citizen.name, Visit.id)
)


def _conditions(scope: DayScope) -> list[ColumnElement[bool]]:
    conditions = []
    if scope.citizens is not None:
        conditions.append(scope.citizens)
    if scope.team_ids is not None:
        conditions.append(Visit.team_id.in_(scope.team_ids))
    if scope.staff_id is not None:
        conditions.append(Visit.assigned_staff_id == scope.staff_id)
    if scope.citizen_id is not None:
        conditions.append(Visit.citizen_id == scope.citizen_id)
    if not scope.include_cancelled:
        conditions.append(Visit.status != VisitStatus.CANCELLED)
    return conditions


async def day_list(
    session: AsyncSession,
    scope: DayScope,
    first: dt.date,
    last: dt.date | None = None,
    *,
    tz: ZoneInfo,
    now: dt.datetime,
) -> list[DayVisit]:
    """The scope's visits planned on local dates ``first``..``last`` (inclusive), by time."""
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(last or first, tz)
    query = _SELECT.where(Visit.planned_at >= start, Visit.planned_at < end, *_conditions(scope))
    # A Core execution fetched at once: plain rows, no ORM loading machinery.
    connection = await session.connection()
    found = [_visit(row, now) for row in (await connection.execute(query)).all()]
    if not scope.details or not found:
        return found
    return await _with_details(session, scope.contact_person, found)


async def one_visit(
    session: AsyncSession, visit_id: int, *, citizen_id: int, now: dt.datetime
) -> DayVisit | None:
    """One of the citizen's visits, on whatever day, as a day-list row (without details)."""
    query = _SELECT.where(Visit.id == visit_id, Visit.citizen_id == citizen_id)
    connection = await session.connection()
    row = (await connection.execute(query)).first()
    return None if row is None else _visit(row, now)


def _visit(row: Sequence[Any], now: dt.datetime) -> DayVisit:
    """A row of ``_SELECT``, read at ``now`` (without details: not mine, no outcome, no tablet)."""
    return DayVisit._make((*row, now, False, None, None, None))


async def _with_details(
    session: AsyncSession, contact_person: int | None, rows: Sequence[DayVisit]
) -> list[DayVisit]:
    """The rows with their tablets, outcomes in force, last calls and whether they are the
    viewer's."""
    citizen_ids = {row.citizen_id for row in rows}
    tablets = await citizens_tablets(session, citizen_ids)
    visit_ids = [row.visit_id for row in rows]
    outcomes = await in_force_of(session, visit_ids)
    last_calls = await _last_calls(session, visit_ids)
    mine = set()
    if contact_person is not None:
        mine = await _contact_person_of(session, contact_person, citizen_ids)
    return [
        row._replace(
            mine=row.citizen_id in mine,
            outcome=outcome.kind if (outcome := outcomes.get(row.visit_id)) else None,
            tablet=tablets.get(row.citizen_id),
            last_call=last_calls.get(row.visit_id),
        )
        for row in rows
    ]


async def _last_calls(session: AsyncSession, visit_ids: Sequence[int]) -> dict[int, LastCall]:
    """Per visit, how its latest ended call ended."""
    rows = await session.execute(
        select(Call.visit_id, Call.end_reason, Call.ended_at)
        .where(
            Call.visit_id.in_(visit_ids),
            Call.ended_at.is_not(None),
            Call.end_reason.is_not(None),
        )
        .order_by(Call.ended_at, Call.id)
    )
    # Oldest first: a later call of the same visit overwrites an earlier one.
    return {
        visit_id: LastCall(reason, ended)
        for visit_id, reason, ended in rows
        if visit_id is not None and reason is not None and ended is not None
    }


async def _contact_person_of(
    session: AsyncSession, staff_id: int, citizen_ids: set[int]
) -> set[int]:
    rows = await session.scalars(
        select(ContactPerson.citizen_id).where(
            ContactPerson.staff_id == staff_id, ContactPerson.citizen_id.in_(citizen_ids)
        )
    )
    return set(rows)


def call_list_order(rows: Sequence[DayVisit]) -> list[DayVisit]:
    """The call list's order: open visits first, the viewer's own citizens first, by time."""
    return sorted(rows, key=lambda r: (r.shown in FINISHED, not r.mine, r.planned_at))


def next_visit(rows: Sequence[DayVisit], now: dt.datetime) -> DayVisit | None:
    """The citizen's current or next visit: one ringing or in a call, else the next open window.

    A visit being rung or in a call counts even after its window ended (a call may run over),
    so the tablet's idle screen never jumps to the next visit in the middle of one.
    """
    candidates = [
        row
        for row in rows
        if row.status in OPEN_FOR_KIOSK
        and now - KIOSK_LOOKBACK <= row.planned_at <= now + KIOSK_LOOKAHEAD
    ]
    live = next((row for row in candidates if row.status in LIVE), None)
    if live is not None:
        return live
    return next((row for row in candidates if not row.window.has_ended(now)), None)


async def next_visit_for_citizen(
    session: AsyncSession, citizen_id: int, now: dt.datetime, tz: ZoneInfo
) -> DayVisit | None:
    """The visit the tablet's idle screen announces (see ``next_visit``)."""
    scope = DayScope(citizen_id=citizen_id, details=False)
    first = (now - KIOSK_LOOKBACK).astimezone(tz).date()
    last = (now + KIOSK_LOOKAHEAD).astimezone(tz).date()
    return next_visit(await day_list(session, scope, first, last, tz=tz, now=now), now)
