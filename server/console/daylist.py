"""Today's visits for a staff member ("I dag"): my contact-person citizens first, then by time.

The scheduling feature generates the ``Visit`` rows from plans; this module only reads them, so
it can later call a day-list function of ``server.scheduling`` without changing its callers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.authz import citizen_scope
from ..auth.identity import StaffIdentity
from ..models import (
    Channel,
    Citizen,
    ContactPerson,
    KioskDevice,
    KioskSelfTest,
    Outcome,
    Visit,
    VisitType,
)
from .status import FINISHED, ListStatus, list_status


class TabletReadiness(BaseModel):
    """The citizen's tablet as far as the database knows (live presence comes over the socket)."""

    has_tablet: bool
    last_seen: dt.datetime | None = None
    selftest_ok: bool | None = None
    selftest_at: dt.datetime | None = None
    selftest_failed_part: str | None = None


class DayRow(BaseModel):
    """One visit on the call list."""

    visit_id: int
    citizen_id: int
    citizen_name: str
    preferred_name: str | None
    photo_url: str | None
    team_id: int
    planned_at: dt.datetime
    window_min: int
    visit_type: str
    visit_type_name_da: str
    visit_type_name_en: str
    channel: Channel
    status: ListStatus
    mine: bool
    outcome: str | None
    readiness: TabletReadiness


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The start of ``day`` and of the next day in local time, as aware datetimes."""
    start = dt.datetime.combine(day, dt.time(0), tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)


def _visits_query(identity: StaffIdentity, start: dt.datetime, end: dt.datetime) -> Any:
    return (
        select(Visit, Citizen, VisitType)
        .join(Citizen, Citizen.id == Visit.citizen_id)
        .join(VisitType, VisitType.id == Visit.visit_type_id)
        .where(citizen_scope(identity), Visit.planned_at >= start, Visit.planned_at < end)
        .order_by(Visit.planned_at, Visit.id)
    )


async def day_list(
    session: AsyncSession, identity: StaffIdentity, day: dt.date, tz: ZoneInfo, now: dt.datetime
) -> list[DayRow]:
    """Every visit of ``day`` that ``identity`` may see, sorted for the call list."""
    start, end = day_bounds(day, tz)
    found: list[tuple[Visit, Citizen, VisitType]] = [
        (v, c, t) for v, c, t in await session.execute(_visits_query(identity, start, end))
    ]
    citizen_ids = {citizen.id for _, citizen, _ in found}
    mine = await _my_citizens(session, identity.staff_id, citizen_ids)
    ready = await readiness(session, citizen_ids)
    outcomes = await current_outcomes(session, [visit.id for visit, _, _ in found])
    rows = [
        _row(visit, citizen, vtype, now, citizen.id in mine, outcomes, ready)
        for visit, citizen, vtype in found
    ]
    rows.sort(key=lambda r: (r.status in FINISHED, not r.mine, r.planned_at))
    return rows


def _row(
    visit: Visit,
    citizen: Citizen,
    vtype: VisitType,
    now: dt.datetime,
    mine: bool,
    outcomes: dict[int, Outcome],
    ready: dict[int, TabletReadiness],
) -> DayRow:
    outcome = outcomes.get(visit.id)
    return DayRow(
        visit_id=visit.id,
        citizen_id=citizen.id,
        citizen_name=citizen.name,
        preferred_name=citizen.preferred_name,
        photo_url=citizen.photo_url,
        team_id=visit.team_id,
        planned_at=visit.planned_at,
        window_min=visit.window_min,
        visit_type=vtype.code,
        visit_type_name_da=vtype.name_da,
        visit_type_name_en=vtype.name_en,
        channel=visit.channel,
        status=list_status(visit.status, visit.planned_at, visit.window_min, now),
        mine=mine,
        outcome=outcome.kind.value if outcome else None,
        readiness=ready.get(citizen.id, TabletReadiness(has_tablet=False)),
    )


async def _my_citizens(session: AsyncSession, staff_id: int, citizen_ids: set[int]) -> set[int]:
    if not citizen_ids:
        return set()
    rows = await session.scalars(
        select(ContactPerson.citizen_id).where(
            ContactPerson.staff_id == staff_id, ContactPerson.citizen_id.in_(citizen_ids)
        )
    )
    return set(rows)


async def readiness(session: AsyncSession, citizen_ids: set[int]) -> dict[int, TabletReadiness]:
    """Each citizen's active tablet: last seen and its latest self-test."""
    if not citizen_ids:
        return {}
    kiosks = (
        await session.scalars(
            select(KioskDevice).where(
                KioskDevice.citizen_id.in_(citizen_ids), KioskDevice.revoked_at.is_(None)
            )
        )
    ).all()
    latest = (
        select(KioskSelfTest.kiosk_id, func.max(KioskSelfTest.at).label("at"))
        .where(KioskSelfTest.kiosk_id.in_([k.id for k in kiosks]))
        .group_by(KioskSelfTest.kiosk_id)
        .subquery()
    )
    tests = {
        t.kiosk_id: t
        for t in await session.scalars(
            select(KioskSelfTest).join(
                latest,
                (latest.c.kiosk_id == KioskSelfTest.kiosk_id) & (latest.c.at == KioskSelfTest.at),
            )
        )
    }
    result: dict[int, TabletReadiness] = {}
    for kiosk in kiosks:
        assert kiosk.citizen_id is not None
        test = tests.get(kiosk.id)
        result[kiosk.citizen_id] = TabletReadiness(
            has_tablet=True,
            last_seen=kiosk.last_seen_at,
            selftest_ok=test.ok if test else None,
            selftest_at=test.at if test else None,
            selftest_failed_part=test.failed_part if test else None,
        )
    return result


async def current_outcomes(session: AsyncSession, visit_ids: list[int]) -> dict[int, Outcome]:
    """The outcome in force per visit: the newest one that no later amendment replaced."""
    if not visit_ids:
        return {}
    amended = select(Outcome.amends_id).where(Outcome.amends_id.is_not(None))
    rows = await session.scalars(
        select(Outcome)
        .where(Outcome.visit_id.in_(visit_ids), Outcome.id.not_in(amended))
        .order_by(Outcome.id)
    )
    return {o.visit_id: o for o in rows}
