"""Writing audit events; callers pass their session so the event commits with their change.

The events form one hash chain per organisation (chain 0 for events of no organisation). An
event is sealed when its transaction commits: it gets the next ``seq`` of its chain, the hash of
the chain's last event as ``prev_hash`` and its own ``hash`` (SHA-256 over the canonical JSON of
its fields). On PostgreSQL the writer locks the chain's head row (``audit_chain_head``) for that
moment, so concurrent transactions of one organisation never fork the chain; SQLite has one
writer at a time. :func:`verify` walks the chains; :func:`purge_before` is the retention purge,
the one deletion the database lets through, and it records itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from .bounds import MAX_ID
from .identity import StaffIdentity
from .models import AuditEvent, Citizen, Organisation, Staff
from .models.audit import AuditChainHead
from .models.base import utcnow
from .ttlcache import TtlCache

GENESIS = "0" * 64
SYSTEM_CHAIN = 0
PURGE_ACTION = "audit.purge"
_PENDING = "screenvisit.audit_pending"


def remote_of(request: web.Request | None) -> str | None:
    """The client address as aiohttp sees it (behind nginx, set up the forwarded headers)."""
    return request.remote if request is not None else None


def record(
    session: AsyncSession,
    action: str,
    *,
    actor: StaffIdentity | str,
    subject: tuple[str, object] | None = None,
    detail: dict[str, Any] | None = None,
    request: web.Request | None = None,
) -> AuditEvent:
    """Add one audit event to ``session``: written, sealed into its chain, when the caller's
    transaction commits (and dropped with it on rollback). Callers may still set
    ``organisation_id`` or ``at`` on the returned event before the commit."""
    staff = actor if isinstance(actor, StaffIdentity) else None
    audit_event = AuditEvent(
        at=utcnow(),
        organisation_id=staff.organisation_id if staff else None,
        actor_staff_id=staff.staff_id if staff else None,
        actor=staff.actor if staff else str(actor),
        action=action,
        subject_kind=subject[0] if subject else None,
        subject_id=str(subject[1]) if subject else None,
        detail=dict(detail or {}),
        remote=remote_of(request),
    )
    session.info.setdefault(_PENDING, []).append(audit_event)
    return audit_event


async def record_read(
    session: AsyncSession,
    action: str,
    *,
    actor: StaffIdentity | str,
    citizen_ids: Iterable[int] = (),
    detail: dict[str, Any] | None = None,
    request: web.Request | None = None,
) -> None:
    """Audit a list read with the citizens it showed, and commit it (read handlers' sessions
    do not commit otherwise). Call it after the reads, inside the handler's session."""
    shown = sorted(set(citizen_ids))
    record(
        session,
        action,
        actor=actor,
        detail={**(detail or {}), "citizen_ids": shown},
        request=request,
    )
    await session.commit()


async def record_apart(
    sessionmaker: async_sessionmaker[AsyncSession],
    action: str,
    *,
    actor: StaffIdentity | str,
    subject: tuple[str, object] | None = None,
    detail: dict[str, Any] | None = None,
    request: web.Request | None = None,
) -> None:
    """Audit in a transaction of its own: for refusals whose own transaction rolls back."""
    async with sessionmaker.begin() as session:
        record(session, action, actor=actor, subject=subject, detail=detail, request=request)


def chain_of(organisation_id: int | None) -> int:
    """The chain an organisation's events go to (0: events of no organisation)."""
    return SYSTEM_CHAIN if organisation_id is None else organisation_id


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(e: AuditEvent) -> bytes:
    """The bytes an event's hash covers: sorted-key JSON of every field but the row id."""
    fields = {
        "v": 1,
        "chain": e.chain,
        "seq": e.seq,
        "prev_hash": e.prev_hash,
        "at": _instant(e.at),
        "organisation_id": e.organisation_id,
        "actor_staff_id": e.actor_staff_id,
        "actor": e.actor,
        "action": e.action,
        "subject_kind": e.subject_kind,
        "subject_id": e.subject_id,
        "detail": e.detail,
        "remote": e.remote,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(e: AuditEvent) -> str:
    """The SHA-256 of the event's canonical form, hex."""
    return hashlib.sha256(canonical(e)).hexdigest()


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    # Runs inside the commit, after which the commit's own flush writes the events; the chain
    # lock is taken last and held only until the commit ends.
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    pending: list[AuditEvent] = session.info.pop(_PENDING)
    session.flush()
    _rehome_citizen_events(session, pending)
    for e in pending:
        # Stored as JSON: hash exactly what reads back (tuples become lists, keys strings).
        e.detail = json.loads(json.dumps(e.detail))
        e.chain = chain_of(e.organisation_id)
    if session.get_bind().dialect.name == "postgresql":
        _lock_referenced_rows(session, pending)
    for chain in sorted({e.chain for e in pending}):
        _append(session, chain, [e for e in pending if e.chain == chain])
    session.add_all(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _rehome_citizen_events(session: Session, pending: Sequence[AuditEvent]) -> None:
    # An event about a citizen belongs to the citizen's organisation, whoever caused it: a
    # foreign organisation's probe shows in the audit log of the organisation probed.
    ids = {int(i) for e in pending if (i := _citizen_of(e)) is not None}
    ids = {i for i in ids if 0 < i <= MAX_ID}
    if not ids:
        return
    owners = {i: org for i in ids if (org := _CITIZEN_ORGS.get(i)) is not None}
    missing = ids - set(owners)
    if missing:
        query = select(Citizen.id, Citizen.organisation_id).where(Citizen.id.in_(missing))
        for citizen_id, org in session.execute(query):
            owners[citizen_id] = org
            _CITIZEN_ORGS.put(citizen_id, org)
    for e in pending:
        citizen = _citizen_of(e)
        if citizen is None:
            continue
        owner = owners.get(int(citizen))
        if owner is None or owner == e.organisation_id:
            continue
        if e.organisation_id is not None:
            e.detail = {**e.detail, "actor_organisation_id": e.organisation_id}
        e.organisation_id = owner


# A citizen's organisation never changes: known from a minute ago, it needs no query (bounded
# in time all the same, should an id ever be freed and taken again).
_CITIZEN_ORGS: TtlCache[int, int] = TtlCache(60.0, time.monotonic)


def _citizen_of(e: AuditEvent) -> str | None:
    # The citizen an event is about: its subject, or for a list read by no organisation's
    # member (a calendar feed's token) the first citizen the list showed.
    if e.subject_kind == "citizen" and e.subject_id and e.subject_id.isdigit():
        return e.subject_id
    shown = e.detail.get("citizen_ids") if e.organisation_id is None else None
    if isinstance(shown, list) and shown and isinstance(shown[0], int):
        return str(shown[0])
    return None


def _lock_referenced_rows(session: Session, pending: Iterable[AuditEvent]) -> None:
    # The insert's foreign-key checks take KEY SHARE locks; take them before the chain lock, so
    # a transaction holding an organisation FOR UPDATE while waiting for the chain cannot
    # deadlock with the chain's holder.
    orgs = {e.organisation_id for e in pending if e.organisation_id is not None}
    staff = {e.actor_staff_id for e in pending if e.actor_staff_id is not None}
    if orgs:
        session.execute(
            select(Organisation.id)
            .where(Organisation.id.in_(orgs))
            .with_for_update(read=True, key_share=True)
        )
    if staff:
        session.execute(
            select(Staff.id).where(Staff.id.in_(staff)).with_for_update(read=True, key_share=True)
        )


def _append(session: Session, chain: int, events: Sequence[AuditEvent]) -> None:
    # Taking the numbers is the lock (the UPDATE holds the head row until the commit): one
    # round trip, and a second to store the new head hash. A chain's very first event makes
    # its head first.
    take = text(
        "UPDATE audit_chain_head SET seq = seq + :n WHERE chain = :chain RETURNING seq, hash"
    )
    taken = session.execute(take, {"n": len(events), "chain": chain}).one_or_none()
    if taken is None:
        session.execute(
            text(
                "INSERT INTO audit_chain_head (chain, seq, hash) VALUES (:chain, 0, :genesis) "
                "ON CONFLICT (chain) DO NOTHING"
            ),
            {"chain": chain, "genesis": GENESIS},
        )
        taken = session.execute(take, {"n": len(events), "chain": chain}).one()
    last, prev = taken
    seq = last - len(events)
    for e in events:
        seq += 1
        e.seq, e.prev_hash = seq, prev
        e.hash = prev = digest(e)
    session.execute(update(AuditChainHead).where(AuditChainHead.chain == chain).values(hash=prev))


@dataclass(frozen=True, slots=True)
class ChainReport:
    """One chain walked: its name, how many events, and the first fault (None: intact)."""

    chain: int
    name: str
    events: int
    problem: str | None


async def verify(session: AsyncSession, organisation_id: int | None = None) -> list[ChainReport]:
    """Walk every chain (or one organisation's) and report the first fault of each."""
    if organisation_id is not None:
        chains = [organisation_id]
    else:
        in_events = await session.scalars(select(AuditEvent.chain).distinct())
        in_heads = await session.scalars(select(AuditChainHead.chain))
        chains = sorted(set(in_events) | set(in_heads))
    orgs = await session.execute(select(Organisation.id, Organisation.slug))
    names = {org_id: slug for org_id, slug in orgs}
    reports = []
    for chain in chains:
        name = "system" if chain == SYSTEM_CHAIN else names.get(chain, f"organisation {chain}")
        count, problem = await _walk(session, chain)
        reports.append(ChainReport(chain, name, count, problem))
    return reports


async def _walk(session: AsyncSession, chain: int) -> tuple[int, str | None]:
    head = (
        await session.execute(
            select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.chain == chain)
        )
    ).one_or_none()
    marks = {
        (d.get("last_seq"), d.get("last_hash"))
        for d in await session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.chain == chain, AuditEvent.action == PURGE_ACTION
            )
        )
    }
    count = 0
    last: AuditEvent | None = None
    rows = await session.stream_scalars(
        select(AuditEvent)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq, AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    async for e in rows:
        count += 1
        problem = _fault(e, last, marks)
        if problem:
            return count, f"event id {e.id} (seq {e.seq}): {problem}"
        last = e
        session.expunge(e)
    return count, _tail_fault(last, head)


def _fault(e: AuditEvent, last: AuditEvent | None, marks: set[tuple[Any, Any]]) -> str | None:
    if last is None:
        if (e.seq, e.prev_hash) != (1, GENESIS) and (e.seq - 1, e.prev_hash) not in marks:
            return "the chain starts here, and no purge accounts for the events before: deleted"
    elif e.seq == last.seq:
        return f"its seq repeats event id {last.id}'s: inserted"
    elif e.seq != last.seq + 1:
        return f"seq {last.seq + 1}–{e.seq - 1} missing before it: deleted"
    if digest(e) != e.hash:
        return "its hash does not match its content: changed"
    if last is not None and e.prev_hash != last.hash:
        return "its prev_hash is not the previous event's hash: changed, inserted or deleted"
    return None


def _tail_fault(last: AuditEvent | None, head: Any) -> str | None:
    if head is None:
        return None if last is None else "the chain has no head row: audit_chain_head changed"
    if last is None:
        return None if head.seq == 0 else f"the chain head is at seq {head.seq}: all deleted"
    where = f"event id {last.id} (seq {last.seq})"
    if last.seq < head.seq:
        return f"{where}: events after it deleted (the chain head is at seq {head.seq})"
    if last.seq > head.seq:
        return f"{where}: past the chain head (seq {head.seq}): inserted"
    if last.hash != head.hash:
        return f"{where}: its hash is not the chain head's: changed or inserted"
    return None


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge removed from one chain."""

    chain: int
    first_seq: int
    last_seq: int
    deleted: int


async def purge_before(
    session: AsyncSession, cutoff: dt.datetime, *, actor: str = "retention"
) -> list[Purged]:
    """Delete each chain's oldest events, up to the first one at or after ``cutoff``; record
    an ``audit.purge`` event per chain (the range, its last hash) so verify accepts the chain
    starting at the first kept event. The caller commits."""
    postgres = session.get_bind().dialect.name == "postgresql"
    firsts = await session.execute(
        select(AuditEvent.chain, func.min(AuditEvent.seq)).group_by(AuditEvent.chain)
    )
    purged = []
    for chain, first_seq in firsts.all():
        kept = await session.scalar(
            select(func.min(AuditEvent.seq)).where(
                AuditEvent.chain == chain, AuditEvent.at >= cutoff
            )
        )
        last_seq = (kept - 1) if kept is not None else await _max_seq(session, chain)
        if last_seq < first_seq:
            continue
        last = await session.scalar(
            select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == last_seq)
        )
        assert last is not None
        if postgres:
            await session.execute(text("SELECT set_config('screenvisit.purge', 'on', true)"))
        result = await session.execute(
            delete(AuditEvent)
            .where(AuditEvent.chain == chain, AuditEvent.seq <= last_seq)
            .execution_options(synchronize_session=False)
        )
        if postgres:
            await session.execute(text("SELECT set_config('screenvisit.purge', 'off', true)"))
        deleted = int(getattr(result, "rowcount", 0))
        mark = record(
            session,
            PURGE_ACTION,
            actor=actor,
            detail={
                "before": _instant(cutoff),
                "first_seq": first_seq,
                "last_seq": last_seq,
                "last_hash": last.hash,
                "last_at": _instant(last.at),
                "deleted": deleted,
            },
        )
        mark.organisation_id = None if chain == SYSTEM_CHAIN else chain
        purged.append(Purged(chain, first_seq, last_seq, deleted))
    return purged


async def _max_seq(session: AsyncSession, chain: int) -> int:
    found = await session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.chain == chain))
    return int(found or 0)
