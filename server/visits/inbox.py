"""A team's inbox: alerts, requests and tasks, each a stored item with a state.

The one place that writes ``inbox_item`` rows. An item is open until someone takes it, and
stays until someone marks it done (with a note) or dismisses it (with a reason): nothing is
deleted, and every change is audited. Writers run inside the caller's transaction and return
plain values; the caller tells the team's open consoles after commit (``updates.TeamFeed``), so
nobody is told of a row that was rolled back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..errors import Conflict, InvalidInput
from ..identity import StaffIdentity
from ..models import Citizen, InboxItem, Visit
from ..translatable import N_
from ..vocabulary import InboxKind, InboxState, OutcomeKind

CALL_BACK_REPEAT = dt.timedelta(minutes=30)  # one open "Ring til mig" per half hour is enough
ACTIVE = frozenset({InboxState.OPEN, InboxState.TAKEN})
VISIT_FOLLOW_UPS = frozenset({InboxKind.MISSED_VISIT, InboxKind.PHYSICAL_VISIT})


@dataclass(frozen=True, slots=True)
class Step:
    """What an action on an item needs (the states it applies to) and leaves (its state)."""

    sources: frozenset[InboxState]
    target: InboxState


# The item's life: taken and released, then done or dismissed once and for all.
STEPS: Mapping[str, Step] = MappingProxyType(
    {
        "take": Step(frozenset({InboxState.OPEN}), InboxState.TAKEN),
        "release": Step(frozenset({InboxState.TAKEN}), InboxState.OPEN),
        "done": Step(ACTIVE, InboxState.DONE),
        "dismiss": Step(ACTIVE, InboxState.DISMISSED),
    }
)


class ItemClosed(Conflict):
    """The item was already done or dismissed."""

    code = "inbox_item_closed"
    default_message = N_("Opgaven er allerede lukket.")


class ItemTaken(Conflict):
    """Someone else has taken the item."""

    code = "inbox_item_taken"
    default_message = N_("En kollega har allerede taget opgaven.")


class ReasonRequired(InvalidInput):
    """Dismissing an item needs a reason."""

    code = "reason_required"
    default_message = N_("Skriv, hvorfor opgaven afvises.")


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """An item that needs attention now, to push to the team's consoles after commit."""

    alert_id: int
    team_id: int
    citizen_id: int | None
    visit_id: int | None
    kind: InboxKind
    message: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class InboxChange:
    """An item was added or changed state: the team's consoles reload their inbox."""

    item_id: int
    team_id: int
    state: InboxState


def raised(item: InboxItem) -> AlertRaised:
    """The live alert of a stored item."""
    return AlertRaised(
        item.id,
        item.team_id,
        item.citizen_id,
        item.visit_id,
        item.kind,
        item.message,
        item.created_at,
    )


def change_of(item: InboxItem) -> InboxChange:
    """The change to announce for an item as it stands now."""
    return InboxChange(item.id, item.team_id, item.state)


@dataclass(frozen=True, slots=True)
class NewItem:
    """What an item says and about whom; ``visit`` sets the team, else the citizen's team."""

    citizen: Citizen
    kind: InboxKind
    message: str
    visit: Visit | None = None
    due: dt.datetime | None = None
    created_by: int | None = None


async def add(session: AsyncSession, new: NewItem, now: dt.datetime) -> InboxItem:
    """Store a new open item for the visit's (or the citizen's) team."""
    citizen, visit = new.citizen, new.visit
    item = InboxItem(
        organisation_id=citizen.organisation_id,
        team_id=visit.team_id if visit is not None else citizen.team_id,
        citizen_id=citizen.id,
        visit_id=visit.id if visit is not None else None,
        kind=new.kind,
        message=new.message,
        state=InboxState.OPEN,
        due_at=new.due,
        created_at=now,
        created_by_staff_id=new.created_by,
    )
    session.add(item)
    await session.flush()
    return item


async def raise_alert(
    session: AsyncSession,
    citizen: Citizen,
    kind: InboxKind,
    message: str,
    now: dt.datetime,
    *,
    visit: Visit | None = None,
    due: dt.datetime | None = None,
) -> AlertRaised:
    """Store an item that the team must see now; its live alert for after the commit."""
    item = await add(session, NewItem(citizen, kind, message, visit, due), now)
    return raised(item)


async def request_call_back(
    session: AsyncSession, citizen: Citizen, now: dt.datetime
) -> tuple[AlertRaised, bool]:
    """The citizen pressed "Ring til mig": the request, and whether it was already open."""
    pending = await session.scalar(
        select(InboxItem).where(
            InboxItem.citizen_id == citizen.id,
            InboxItem.kind == InboxKind.CALL_BACK_REQUEST,
            InboxItem.state.in_(ACTIVE),
            InboxItem.created_at > now - CALL_BACK_REPEAT,
        )
    )
    if pending is not None:
        return raised(pending), True
    name = citizen.preferred_name or citizen.name
    message = f"{name} beder om et opkald"
    return await raise_alert(session, citizen, InboxKind.CALL_BACK_REQUEST, message, now), False


async def already_alerted(
    session: AsyncSession, visit_id: int, kinds: Collection[InboxKind]
) -> bool:
    """Whether the team was already told about this visit with one of ``kinds``."""
    found = await session.scalar(
        select(InboxItem.id)
        .where(InboxItem.visit_id == visit_id, InboxItem.kind.in_(kinds))
        .limit(1)
    )
    return found is not None


async def open_physical_task(
    session: AsyncSession,
    visit: Visit,
    reason: str | None,
    due: dt.datetime,
    now: dt.datetime,
    *,
    created_by: int | None = None,
) -> InboxItem:
    """The visit's one active physical-visit task: the existing one, or a new one."""
    citizen = await session.get_one(Citizen, visit.citizen_id)
    new = NewItem(citizen, InboxKind.PHYSICAL_VISIT, reason or "", visit, due, created_by)
    task, _ = await add_once(session, new, now)
    return task


async def add_once(session: AsyncSession, new: NewItem, now: dt.datetime) -> tuple[InboxItem, bool]:
    """The visit's one active item of ``new.kind``: the existing one, or a new one (True)."""
    assert new.visit is not None, "one item per visit needs the visit"
    found = await session.scalar(_active(new.visit.id, {new.kind}).limit(1))
    if found is not None:
        return found, False
    return await add(session, new, now), True


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A visit nobody suitable could be given: the team must find someone."""

    visit_id: int
    organisation_id: int
    team_id: int
    citizen_id: int
    message: str


def unassigned_message(citizen_name: str, type_name: str, local: dt.datetime) -> str:
    """What the team reads about an unassigned visit (``local``: the organisation's wall clock)."""
    when = local.strftime("%d.%m. kl. %H:%M")
    return f"{citizen_name}: {type_name} {when} har ingen medarbejder. Find en, der kan tage det."


UNASSIGNED_CHUNK = 1000  # visit ids per lookup (bounded IN lists)


async def open_unassigned(
    session: AsyncSession, visits: Sequence[Unassigned], now: dt.datetime
) -> list[InboxItem]:
    """One active unassigned-visit item per visit, added in bulk; visits that have one are left.

    Generation may find hundreds at once, so the existing items are looked up in chunks and
    the new ones inserted together, not one round trip per visit.
    """
    ids = [v.visit_id for v in visits]
    have: set[int | None] = set()
    for first in range(0, len(ids), UNASSIGNED_CHUNK):
        chunk = ids[first : first + UNASSIGNED_CHUNK]
        query = select(InboxItem.visit_id).where(
            InboxItem.visit_id.in_(chunk),
            InboxItem.kind == InboxKind.UNASSIGNED_VISIT,
            InboxItem.state.in_(ACTIVE),
        )
        have |= set(await session.scalars(query))
    items = [_unassigned_item(v, now) for v in _unique(visits) if v.visit_id not in have]
    session.add_all(items)
    await session.flush()
    return items


def _unique(visits: Sequence[Unassigned]) -> list[Unassigned]:
    return list({v.visit_id: v for v in visits}.values())


def _unassigned_item(visit: Unassigned, now: dt.datetime) -> InboxItem:
    return InboxItem(
        organisation_id=visit.organisation_id,
        team_id=visit.team_id,
        citizen_id=visit.citizen_id,
        visit_id=visit.visit_id,
        kind=InboxKind.UNASSIGNED_VISIT,
        message=visit.message,
        state=InboxState.OPEN,
        created_at=now,
    )


def _active(visit_id: int, kinds: Collection[InboxKind]) -> Select[InboxItem]:
    return select(InboxItem).where(
        InboxItem.visit_id == visit_id, InboxItem.kind.in_(kinds), InboxItem.state.in_(ACTIVE)
    )


@dataclass(frozen=True, slots=True)
class VisitClosing:
    """Why and by whom a visit's active items are closed (they stay as history)."""

    identity: StaffIdentity | None  # None: the system (an escalation)
    visit: Visit
    kind: OutcomeKind | None  # the outcome that closes them, if one does
    now: dt.datetime
    why: str
    action: str  # the audit action: "task.closed", "task.cancelled"


async def close_for_visit(
    session: AsyncSession, closing: VisitClosing, kinds: Collection[InboxKind]
) -> list[InboxChange]:
    """Mark the visit's active items of ``kinds`` done, say why, and audit each."""
    visit, identity = closing.visit, closing.identity
    changes = []
    for item in await session.scalars(_active(visit.id, kinds)):
        item.state, item.note = InboxState.DONE, closing.why
        item.closed_at = closing.now
        item.closed_by_staff_id = identity.staff_id if identity is not None else None
        detail: dict[str, object] = {"item": item.id, "visit": visit.id}
        if closing.kind is not None:
            detail["outcome_kind"] = closing.kind.value
        event = audit.record(
            session,
            closing.action,
            actor=identity if identity is not None else "system",
            subject=("citizen", visit.citizen_id),
            detail=detail,
        )
        event.organisation_id = item.organisation_id
        changes.append(change_of(item))
    return changes


def mark_escalated(
    session: AsyncSession, item: InboxItem, to: str, now: dt.datetime
) -> InboxChange:
    """The item passed its due time: escalate it once, to ``to``, and audit that."""
    item.escalated_at, item.escalated_to = now, to
    event = audit.record(
        session,
        "inbox.escalate",
        actor="system",
        subject=("inbox_item", item.id),
        detail={"citizen": item.citizen_id, "kind": item.kind.value, "to": to},
    )
    event.organisation_id, event.at = item.organisation_id, now
    return change_of(item)


async def act(
    session: AsyncSession,
    identity: StaffIdentity,
    item: InboxItem,
    action: str,
    now: dt.datetime,
    note: str | None = None,
) -> InboxChange:
    """Take, release, finish or dismiss ``item`` as ``identity`` (see ``STEPS``), audited."""
    step = STEPS[action]
    note = (note or "").strip() or None
    if action == "take" and item.taken_by_staff_id == identity.staff_id:
        return change_of(item)  # a second press of "Tag": it is already yours
    _check(item, identity, action, step, note)
    item.state = step.target
    if action == "take":
        item.taken_at, item.taken_by_staff_id = now, identity.staff_id
    elif action == "release":
        item.taken_at, item.taken_by_staff_id = None, None
    else:
        item.closed_at, item.closed_by_staff_id, item.note = now, identity.staff_id, note
    detail: dict[str, object] = {"citizen": item.citizen_id, "kind": item.kind.value}
    if note:
        detail["note"] = note[:500]
    subject = ("inbox_item", item.id)
    audit.record(session, f"inbox.{action}", actor=identity, subject=subject, detail=detail)
    return change_of(item)


def _check(
    item: InboxItem, identity: StaffIdentity, action: str, step: Step, note: str | None
) -> None:
    """Refuse an action the item's state (or a colleague's hold on it) does not allow."""
    if item.state not in ACTIVE:
        raise ItemClosed()
    held_by_other = item.taken_by_staff_id not in (None, identity.staff_id)
    if action in {"take", "release"} and held_by_other:
        raise ItemTaken()
    if item.state not in step.sources:
        raise Conflict(f"The item is {item.state.value}; it cannot be {action} now.")
    if action == "dismiss" and note is None:
        raise ReasonRequired()
