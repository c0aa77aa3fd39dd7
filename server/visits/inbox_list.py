"""Reading a team's inbox: the items a staff member may see, a summary, one item's history.

A staff member sees the items of their teams (visitators, planners and administrators: of the
whole organisation) and, when they are on the organisation's on-call list, the overdue items
escalated to it. Active items come first: overdue, then by due time, then the newest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..errors import NotFound
from ..identity import StaffIdentity
from ..models import AuditEvent, Citizen, InboxItem, Staff, Team
from ..orgsettings import load
from ..translatable import N_
from ..vocabulary import InboxKind, InboxState
from .inbox import ACTIVE

PAGE = 200


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One inbox item as the console shows it, names resolved."""

    id: int
    kind: InboxKind
    state: InboxState
    team_id: int
    team_name: str
    citizen_id: int | None
    citizen_name: str | None
    visit_id: int | None
    message: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    taken_by_staff_id: int | None
    taken_by_name: str | None
    taken_at: dt.datetime | None
    closed_by_name: str | None
    closed_at: dt.datetime | None
    note: str | None
    escalated_at: dt.datetime | None
    escalated_to: str | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class InboxSummary:
    """How many active items there are, how many are mine, how many are overdue."""

    active: int
    mine: int
    overdue: int


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One audited change of an item."""

    at: dt.datetime
    actor: str
    action: str
    note: str | None


async def visible(session: AsyncSession, identity: StaffIdentity) -> ColumnElement[bool]:
    """SQL condition for the items ``identity`` may see (see the module notes)."""
    same_org = InboxItem.organisation_id == identity.organisation_id
    if identity.org_wide:
        return same_org
    mine: ColumnElement[bool] = InboxItem.team_id.in_(identity.team_ids)
    settings = await load(session, identity.organisation_id)
    if identity.staff_id in settings.overdue.on_call_staff_ids:
        mine = or_(mine, InboxItem.escalated_to == "on_call")
    return and_(same_org, mine)


_TAKER, _CLOSER = aliased(Staff), aliased(Staff)


async def entries(
    session: AsyncSession,
    identity: StaffIdentity,
    now: dt.datetime,
    *,
    active_only: bool = True,
    item_id: int | None = None,
) -> list[InboxEntry]:
    """The items ``identity`` may see, active ones first (see the module notes)."""
    active = InboxItem.state.in_(ACTIVE)
    overdue = and_(active, InboxItem.due_at < now)
    query = (
        select(InboxItem, Team.name, Citizen.name, _TAKER.display_name, _CLOSER.display_name)
        .join(Team, Team.id == InboxItem.team_id)
        .outerjoin(Citizen, Citizen.id == InboxItem.citizen_id)
        .outerjoin(_TAKER, _TAKER.id == InboxItem.taken_by_staff_id)
        .outerjoin(_CLOSER, _CLOSER.id == InboxItem.closed_by_staff_id)
        .where(await visible(session, identity))
        .order_by(
            case((active, 0), else_=1),
            case((overdue, 0), else_=1),
            InboxItem.due_at.is_(None),
            InboxItem.due_at,
            InboxItem.created_at.desc(),
            InboxItem.id.desc(),
        )
        .limit(PAGE)
    )
    if active_only:
        query = query.where(active)
    if item_id is not None:
        query = query.where(InboxItem.id == item_id)
    rows = await session.execute(query)
    return [
        _entry(item, team, citizen, taker, closer, now)
        for item, team, citizen, taker, closer in rows
    ]


def _entry(
    item: InboxItem,
    team: str,
    citizen: str | None,
    taker: str | None,
    closer: str | None,
    now: dt.datetime,
) -> InboxEntry:
    active = item.state in ACTIVE
    return InboxEntry(
        id=item.id,
        kind=item.kind,
        state=item.state,
        team_id=item.team_id,
        team_name=team,
        citizen_id=item.citizen_id,
        citizen_name=citizen,
        visit_id=item.visit_id,
        message=item.message,
        due_at=item.due_at,
        created_at=item.created_at,
        taken_by_staff_id=item.taken_by_staff_id,
        taken_by_name=taker,
        taken_at=item.taken_at,
        closed_by_name=closer,
        closed_at=item.closed_at,
        note=item.note,
        escalated_at=item.escalated_at,
        escalated_to=item.escalated_to,
        overdue=active and item.due_at is not None and item.due_at < now,
    )


async def summary(session: AsyncSession, identity: StaffIdentity, now: dt.datetime) -> InboxSummary:
    """The counts for the header's badge."""
    active = InboxItem.state.in_(ACTIVE)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(InboxItem.taken_by_staff_id == identity.staff_id),
                func.count().filter(InboxItem.due_at < now),
            ).where(active, await visible(session, identity))
        )
    ).one()
    return InboxSummary(int(row[0]), int(row[1]), int(row[2]))


async def item_for(
    session: AsyncSession, identity: StaffIdentity, item_id: int, *, for_update: bool = False
) -> InboxItem:
    """An item ``identity`` may see (locked for a change when ``for_update``); else NotFound."""
    query = select(InboxItem).where(InboxItem.id == item_id, await visible(session, identity))
    if for_update:
        query = query.with_for_update()
    item = await session.scalar(query)
    if item is None:
        raise NotFound(N_("Opgaven findes ikke."))
    return item


async def entry_for(
    session: AsyncSession, identity: StaffIdentity, item_id: int, now: dt.datetime
) -> InboxEntry:
    """One item as the console shows it; NotFound unless ``identity`` may see it."""
    found = await entries(session, identity, now, active_only=False, item_id=item_id)
    if not found:
        raise NotFound(N_("Opgaven findes ikke."))
    return found[0]


async def history(session: AsyncSession, item: InboxItem) -> list[HistoryLine]:
    """Every audited change of the item, oldest first (its creation is ``created_at``)."""
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_kind == "inbox_item", AuditEvent.subject_id == str(item.id))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        HistoryLine(e.at, e.actor, e.action, str(e.detail["note"]) if "note" in e.detail else None)
        for e in rows
    ]
