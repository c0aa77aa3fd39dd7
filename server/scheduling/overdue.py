"""Inbox items that pass their due time while still open are escalated once.

The organisation chooses to whom (``OrgSettings.overdue``): the planners of the item's team (the
team's lead role), the organisation's on-call list, or nobody. The item is marked escalated and
audited either way, so it is escalated once only, and stays in the team's inbox until closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import InboxItem, Staff, TeamMembership
from ..orgsettings import DEFAULTS, OverdueEscalation, load_many
from ..visits import inbox
from ..visits.inbox import ACTIVE, AlertRaised, InboxChange
from ..vocabulary import Role


@dataclass(frozen=True, slots=True)
class Overdue:
    """An escalated item: its alert for ``staff_ids``, and the change for its team."""

    alert: AlertRaised
    staff_ids: tuple[int, ...]
    change: InboxChange


async def escalate_overdue(session: AsyncSession, now: dt.datetime) -> list[Overdue]:
    """Escalate every active item whose due time has passed and that was not escalated yet."""
    items = list(
        await session.scalars(
            select(InboxItem)
            .where(
                InboxItem.state.in_(ACTIVE),
                InboxItem.due_at < now,
                InboxItem.escalated_at.is_(None),
            )
            .order_by(InboxItem.due_at, InboxItem.id)
            .with_for_update(skip_locked=True)
        )
    )
    settings = await load_many(session, {item.organisation_id for item in items})
    found = []
    for item in items:
        rule = settings.get(item.organisation_id, DEFAULTS).overdue
        staff_ids = await recipients(session, item, rule)
        change = inbox.mark_escalated(session, item, rule.to, now)
        alert = replace(inbox.raised(item), message=f"Overskredet frist: {item.message}")
        found.append(Overdue(alert, staff_ids, change))
    return found


async def recipients(
    session: AsyncSession, item: InboxItem, rule: OverdueEscalation
) -> tuple[int, ...]:
    """Who hears of the overdue item: active planners of its team, or the on-call list."""
    query = select(Staff.id).where(
        Staff.organisation_id == item.organisation_id, Staff.active.is_(True)
    )
    if rule.to == "planners":
        query = query.join(TeamMembership, TeamMembership.staff_id == Staff.id).where(
            TeamMembership.team_id == item.team_id, Staff.role == Role.PLANNER
        )
    elif rule.to == "on_call":
        query = query.where(Staff.id.in_(rule.on_call_staff_ids))
    else:
        return ()
    return tuple(await session.scalars(query.order_by(Staff.id)))
