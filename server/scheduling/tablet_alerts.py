"""Before the visit, not after: alert the team when a tablet is not ready for a coming screen visit.

When a screen visit's window start is within the readiness lead time (and its window has not
ended), the citizen's tablet must be online and its last self-test must not have failed
(``visits.readiness.alert_for``); otherwise the team is alerted once per visit, so a physical
visit can be arranged in time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Citizen, Visit
from ..visits import inbox
from ..visits.inbox import AlertRaised
from ..visits.readiness import alert_for, citizens_tablets
from ..visits.status import Window
from ..vocabulary import Channel, InboxKind, VisitStatus

READINESS_KINDS = {InboxKind.TABLET_OFFLINE, InboxKind.SELFTEST_FAILED}
# Which of these citizens' tablets are connected right now (live state, not stored).
OnlineCitizens = Callable[[Collection[int]], Awaitable[set[int]]]


async def check_readiness(
    session: AsyncSession,
    now: dt.datetime,
    lead: dt.timedelta,
    online: OnlineCitizens,
    zone: ZoneInfo,
) -> list[AlertRaised]:
    """Alert for each coming screen visit whose tablet is offline or failed its self-test."""
    visits = [
        visit
        for visit in await session.scalars(
            select(Visit).where(
                Visit.channel == Channel.SCREEN,
                Visit.status == VisitStatus.PLANNED,
                Visit.planned_at <= now + lead + dt.timedelta(hours=4),
                Visit.planned_at >= now - dt.timedelta(hours=4),
            )
        )
        if _coming(Window(visit.planned_at, visit.window_min), lead, now)
    ]
    citizens = {visit.citizen_id for visit in visits}
    tablets = await citizens_tablets(session, citizens)
    connected = await online(citizens) if citizens else set()
    alerts = []
    for visit in visits:
        kind = alert_for(tablets.get(visit.citizen_id), visit.citizen_id in connected, now)
        if kind is not None and not await inbox.already_alerted(session, visit.id, READINESS_KINDS):
            alerts.append(await _alert(session, visit, kind, now, zone))
    return alerts


def _coming(window: Window, lead: dt.timedelta, now: dt.datetime) -> bool:
    """The window opens within the lead time (or is open) and has not ended."""
    return window.start - lead <= now < window.end


async def _alert(
    session: AsyncSession, visit: Visit, kind: InboxKind, now: dt.datetime, zone: ZoneInfo
) -> AlertRaised:
    """Write the readiness alert in Danish for the team."""
    citizen = await session.get_one(Citizen, visit.citizen_id)
    local = visit.planned_at.astimezone(zone)
    what = "er ikke online" if kind is InboxKind.TABLET_OFFLINE else "fejlede sin sidste selvtest"
    message = (
        f"{citizen.name}s tablet {what} før skærmbesøget kl. {local:%H:%M}. "
        "Overvej et fysisk besøg."
    )
    return await inbox.raise_alert(session, citizen, kind, message, now, visit=visit)
