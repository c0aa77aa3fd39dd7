"""Before the visit, not after: alert the team when a tablet is not ready for a coming screen visit.

When a screen visit's window start is within the readiness lead time (and its window has not
ended), the citizen's tablet must be online and its last self-test must not have failed;
otherwise the team is alerted once per visit, so a physical visit can be arranged in time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Alert,
    AlertKind,
    Channel,
    Citizen,
    KioskDevice,
    KioskSelfTest,
    Visit,
    VisitStatus,
)
from .escalation import AlertRaised, raise_alert
from .recurrence import LOCAL_ZONE

SEEN_RECENTLY = dt.timedelta(minutes=2)
IsOnline = Callable[[int], bool]  # citizen id → whether this process sees the tablet connected


async def check_readiness(
    session: AsyncSession, now: dt.datetime, lead: dt.timedelta, is_online: IsOnline
) -> list[AlertRaised]:
    """Alert for each coming screen visit whose tablet is offline or failed its self-test."""
    visits = await session.scalars(
        select(Visit).where(
            Visit.channel == Channel.SCREEN,
            Visit.status == VisitStatus.PLANNED,
            Visit.planned_at <= now + lead + dt.timedelta(hours=4),
            Visit.planned_at >= now - dt.timedelta(hours=4),
        )
    )
    alerts = []
    for visit in visits:
        window = dt.timedelta(minutes=visit.window_min)
        if not visit.planned_at - window - lead <= now < visit.planned_at + window:
            continue
        if await _already_alerted(session, visit.id):
            continue
        problem = await tablet_problem(session, visit.citizen_id, now, is_online)
        if problem is not None:
            alerts.append(await _alert(session, visit, problem, now))
    return alerts


async def tablet_problem(
    session: AsyncSession, citizen_id: int, now: dt.datetime, is_online: IsOnline
) -> AlertKind | None:
    """Why the citizen's tablet is not ready, or None when it is."""
    kiosk = await session.scalar(
        select(KioskDevice)
        .where(KioskDevice.citizen_id == citizen_id, KioskDevice.revoked_at.is_(None))
        .order_by(KioskDevice.id.desc())
    )
    if kiosk is None:
        return AlertKind.TABLET_OFFLINE
    seen = kiosk.last_seen_at is not None and kiosk.last_seen_at >= now - SEEN_RECENTLY
    if not (is_online(citizen_id) or seen):
        return AlertKind.TABLET_OFFLINE
    last_ok = await session.scalar(
        select(KioskSelfTest.ok)
        .where(KioskSelfTest.kiosk_id == kiosk.id)
        .order_by(KioskSelfTest.at.desc(), KioskSelfTest.id.desc())
    )
    return AlertKind.SELFTEST_FAILED if last_ok is False else None


async def _already_alerted(session: AsyncSession, visit_id: int) -> bool:
    """Whether the team was already told about this visit's tablet."""
    found = await session.scalar(
        select(Alert.id).where(
            Alert.visit_id == visit_id,
            Alert.kind.in_((AlertKind.TABLET_OFFLINE, AlertKind.SELFTEST_FAILED)),
        )
    )
    return found is not None


async def _alert(
    session: AsyncSession, visit: Visit, kind: AlertKind, now: dt.datetime
) -> AlertRaised:
    """Write the readiness alert in Danish for the team."""
    citizen = await session.get_one(Citizen, visit.citizen_id)
    local = visit.planned_at.astimezone(LOCAL_ZONE)
    what = "er ikke online" if kind is AlertKind.TABLET_OFFLINE else "fejlede sin sidste selvtest"
    message = (
        f"{citizen.name}s tablet {what} før skærmbesøget kl. {local:%H:%M}. "
        "Overvej et fysisk besøg."
    )
    return await raise_alert(session, citizen, visit, kind, message, now)
