"""Ringing, answering, declining, cancelling and hanging up: one small handler per message."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.sessions import session_still_valid
from ..db import DATABASE_BUSY
from ..models import utcnow
from ..rooms import store
from ..rooms.book import CallMeta, Departure, Over
from ..rooms.policy import auto_answer_after, may_ring
from ..rooms.registry import LiveCall
from ..security import new_token
from ..visits import lifecycle
from ..visits.status import Change
from ..visits.updates import VisitUpdate
from ..vocabulary import RECORDED_ONLY, EndReason, PeerKind
from . import colleagues, devices, guests, relatives
from .errors import SignalingError
from .facts import caller_facts, db_id
from .hub import Hub
from .messages import (
    Accept,
    CallEnded,
    Cancel,
    CloseCode,
    Decline,
    ErrorCode,
    Hangup,
    IncomingRing,
    LeaveReason,
    PeerLeft,
    Ring,
)
from .messages import (
    EndReason as WireEndReason,
)
from .peer import Peer, PeerRef
from .views import snapshot

logger = logging.getLogger(__name__)
END_WRITE_TIMEOUT_S = 3.0
# An end that failed for these is written later (the database was away, or too slow to answer).
END_WRITE_RETRIED: tuple[type[Exception], ...] = (*DATABASE_BUSY, TimeoutError)


def require_staff(peer: Peer) -> None:
    """Kiosks and guests may not start or steer calls."""
    if peer.profile.kind is not PeerKind.STAFF:
        raise SignalingError(ErrorCode.FORBIDDEN, "only staff can do this")


async def on_ring(hub: Hub, peer: Peer, msg: Ring) -> None:
    """A staff member rings a citizen's kiosk, if policy, presence and availability allow."""
    if relatives.is_relative(peer):  # a relative's call link rings its own citizen only
        await relatives.on_ring(hub, peer, msg)
        return
    require_staff(peer)
    citizen_id = db_id(msg.citizen_id)
    call: LiveCall | None = None
    try:
        # One transaction for the checks and the call's row (one round trip each to begin and
        # to commit). The row is written before anyone hears of the call, so a quick decline
        # always finds the row to end.
        async with hub.transaction() as session:
            checked = await _ring_checks(hub, session, peer, citizen_id, msg.visit_id)
            if checked is None:
                refusal: EndReason | None = None
            else:
                meta, auto_s = checked
                kiosk = await hub.kiosk_peer(msg.citizen_id)
                refusal = await _unavailable(hub, kiosk, msg.citizen_id)
            if checked is not None and kiosk is not None and refusal is None:
                seats = (peer.seat(), kiosk.seat())
                call = await hub.book.ring(new_token(12), msg.citizen_id, *seats, meta)
                update = await _record_ring(session, hub, peer, kiosk, call, meta, auto_s)
    except BaseException:
        if call is not None:
            await hub.book.cancel(call.call_id, peer.peer_id)  # nobody was told: no busy ghost
        raise
    if checked is None:
        await _audit_denied(hub, peer, citizen_id)
        raise SignalingError(ErrorCode.FORBIDDEN, "you may not call this citizen")
    if call is None or kiosk is None:
        await _refused(hub, peer, meta, refusal or EndReason.OFFLINE)
        if refusal is EndReason.BUSY:
            raise SignalingError(ErrorCode.BUSY, "the citizen is already in a call")
        raise SignalingError(ErrorCode.OFFLINE, "the citizen's tablet is not online")
    await announce(hub, update)
    await _ringing(hub, peer, kiosk, call, meta, auto_s, msg.id)


async def _unavailable(hub: Hub, kiosk: PeerRef | None, citizen_id: str) -> EndReason | None:
    """Why the citizen's tablet cannot ring now (offline, busy); None when it can."""
    if kiosk is None:
        return EndReason.OFFLINE
    if await hub.book.call_of_citizen(citizen_id) is not None:
        return EndReason.BUSY
    return None


async def _ringing(
    hub: Hub,
    peer: Peer,
    kiosk: PeerRef,
    call: LiveCall,
    meta: CallMeta,
    auto_s: int | None,
    ref: int | None,
) -> None:
    """The call is recorded: tell the caller, ring the tablet, start the ring timer."""
    await peer.send(await snapshot(hub, call, peer.peer_id, ref=ref))
    await kiosk.send(ring_message(hub, call, peer, kiosk, meta, auto_s))
    await devices.tell_device_states(hub, call, [peer.peer_id])  # e.g. it rings silently
    await guests.tell_waiting(hub, call, [peer.peer_id])  # a meeting: who already waits
    hub.start_timer(
        ("ring", call.call_id, ""),
        meta.ring_timeout_s,
        lambda: _ring_timeout(hub, call.call_id),
    )
    await hub.publish_presence([call.citizen_id])


async def _ring_checks(
    hub: Hub,
    session: AsyncSession,
    peer: Peer,
    citizen_id: int | None,
    visit_wire_id: str | None,
) -> tuple[CallMeta, int | None] | None:
    """Policy first (None: forbidden, to be audited), then the visit; the call's facts and
    auto-answer."""
    caller = caller_facts(peer.profile)
    now = utcnow()
    defaults = store.RingTimes(hub.settings.ring_timeout_s, hub.settings.auto_answer_after_s)
    await _require_login(hub, session, peer)
    found = await store.ring_facts(session, citizen_id) if citizen_id else None
    if found is None or citizen_id is None or not may_ring(caller, found[0]):
        return None
    facts, org_settings = found
    visit_id = db_id(visit_wire_id) if visit_wire_id else None
    visit = await store.visit_facts(session, citizen_id, visit_id, now)
    consent = await store.auto_answer_consent(session, citizen_id, hub.settings.zone)
    times = store.ring_times_of(org_settings, defaults)
    if visit_wire_id is not None and visit is None:
        raise SignalingError(ErrorCode.INVALID_MESSAGE, "no such visit for this citizen")
    roles = visit.qualified_roles if visit is not None else frozenset()
    if roles and peer.profile.role not in roles and visit_wire_id is None:
        # The visit was only guessed from the clock: a carer's chat during the medication
        # window is not that visit, so the call simply carries no visit.
        visit, roles = None, frozenset()
    if roles and peer.profile.role not in roles:
        # Delegated nursing (medication, blood sugar) needs a qualified role (PRODUCT.md).
        needed = ", ".join(sorted(roles))
        raise SignalingError(ErrorCode.FORBIDDEN, f"this visit needs a qualified role: {needed}")
    window = visit.window if visit else None
    auto_s = auto_answer_after(
        caller, facts, consent, window, now, seconds=times.auto_answer_after_s
    )
    if visit is None:
        meta = CallMeta(citizen_id, None, None, False, auto_s, times.ring_timeout_s)
        return meta, auto_s
    meta = CallMeta(
        citizen_id, visit.visit_id, visit.type_code, visit.camera_off, auto_s, times.ring_timeout_s
    )
    return meta, auto_s


async def _require_login(hub: Hub, session: AsyncSession, peer: Peer) -> None:
    """The staff member's login still holds (checked at most every few seconds per login:
    a logout or a deactivation closes her sockets at once, see ``Hub.close_staff``)."""
    staff = peer.profile.staff
    if staff is None or hub.live_logins.get(staff.session_id) is not None:
        return
    if not await session_still_valid(session, staff.session_id):
        raise SignalingError(
            ErrorCode.NOT_AUTHENTICATED, "your login has ended", close=CloseCode.POLICY_VIOLATION
        )
    hub.live_logins.put(staff.session_id, staff.staff_id)


async def _audit_denied(hub: Hub, peer: Peer, citizen_id: int | None) -> None:
    staff = peer.profile.staff
    assert staff is not None
    async with hub.transaction() as session:
        audit.record(session, "call.ring_denied", actor=staff, subject=("citizen", citizen_id or 0))


def ring_message(
    hub: Hub, call: LiveCall, caller: PeerRef, kiosk: PeerRef, meta: CallMeta, auto_s: int | None
) -> IncomingRing:
    """The kiosk's ring; a repeated ring (after a resume) says how long is left of it."""
    left = hub.time_left(("ring", call.call_id, ""))
    expires_in_s = meta.ring_timeout_s if left is None else max(1, int(left))
    return IncomingRing(
        call_id=call.call_id,
        citizen_id=call.citizen_id,
        caller=caller.info(),
        visit_id=call.visit_id,
        visit_type=meta.visit_type,
        camera_off=meta.camera_off,
        auto_answer_after_s=auto_s,
        expires_in_s=expires_in_s,
        ice_servers=hub.ice_for(kiosk.peer_id),
    )


def _new_call(
    hub: Hub, call_id: str, caller: Peer, kiosk: PeerRef | None, meta: CallMeta, auto: bool
) -> store.NewCall:
    staff = caller.profile.staff
    assert staff is not None
    return store.NewCall(
        public_id=call_id,
        citizen_id=meta.citizen_db_id,
        caller_staff_id=staff.staff_id,
        kiosk_id=kiosk.profile.kiosk_db_id if kiosk is not None else None,
        visit_id=meta.visit_id,
        auto_answer=auto,
        owner=hub.owner,
        lease_until=hub.lease_until(utcnow()),
    )


async def _refused(hub: Hub, caller: Peer, meta: CallMeta, reason: EndReason) -> None:
    """Record a ring that never reached the tablet: for the ladder it is an attempt."""
    staff = caller.profile.staff
    assert staff is not None
    new = _new_call(hub, new_token(12), caller, None, meta, auto=False)
    try:
        async with asyncio.timeout(END_WRITE_TIMEOUT_S), hub.transaction() as session:
            await store.record_refused(session, new, reason, utcnow())
            detail = {"call": new.public_id, "visit": meta.visit_id, "reason": reason.value}
            subject = ("citizen", meta.citizen_db_id)
            audit.record(session, "call.refused", actor=staff, subject=subject, detail=detail)
    except Exception:  # the nurse must hear the refusal even if it could not be written
        logger.exception("could not record a refused ring to citizen %s", meta.citizen_db_id)


async def _record_ring(
    session: AsyncSession,
    hub: Hub,
    caller: Peer,
    kiosk: PeerRef,
    call: LiveCall,
    meta: CallMeta,
    auto_s: int | None,
) -> VisitUpdate | None:
    """Add the ringing call, its audit event and its visit's move to the ring's transaction;
    the visit's update to announce once it commits."""
    staff = caller.profile.staff
    assert staff is not None
    new = _new_call(hub, call.call_id, caller, kiosk, meta, auto_s is not None)
    await store.create_call(session, new)
    audit.record(
        session,
        "call.ring",
        actor=staff,
        subject=("citizen", meta.citizen_db_id),
        detail={
            "call": call.call_id,
            "visit": meta.visit_id,
            "auto_answer": auto_s is not None,
        },
    )
    return await _visit_follows(session, meta, Change.RING)


async def _visit_follows(
    session: AsyncSession, meta: CallMeta | None, change: Change | EndReason
) -> VisitUpdate | None:
    """Let the call's visit follow the call (ringing, in call, back to open)."""
    if meta is None or meta.visit_id is None:
        return None
    return await lifecycle.follow_call(session, meta.visit_id, change)


async def announce(hub: Hub, update: VisitUpdate | None) -> None:
    """Tell the visit's team so their call lists change without a reload."""
    if update is not None:
        await hub.visit_changed(update)


async def on_accept(hub: Hub, peer: Peer, msg: Accept) -> None:
    """The kiosk answers a ring, or an invited colleague accepts."""
    call = await hub.book.get(msg.call_id)
    if peer.profile.kind is PeerKind.STAFF and call.is_invited(peer.profile.identity_id):
        await colleagues.join(hub, peer, msg)
        return
    call = await hub.book.accept(msg.call_id, peer.peer_id)
    hub.cancel_timer(("ring", call.call_id, ""))
    answered_at = utcnow()
    for seat in list(call.participants):
        ref = msg.id if seat == peer.peer_id else None
        await hub.bus.send(seat, await snapshot(hub, call, seat, ref=ref))
    await devices.tell_device_states(hub, call, call.participants)
    # The kiosk's offer follows on this socket at once: persisting in a hub task keeps a
    # database write (about 10 ms on SQLite) out of the call set-up (bench/call_setup.py).
    hub.spawn(lambda: _persist_answer(hub, call.call_id, answered_at))


async def _persist_answer(hub: Hub, call_id: str, at: dt.datetime) -> None:
    meta = await hub.book.meta(call_id)
    async with hub.transaction() as session:
        await store.mark_answered(session, call_id, at)
        update = await _visit_follows(session, meta, Change.ANSWER)
    await announce(hub, update)


async def on_decline(hub: Hub, peer: Peer, msg: Decline) -> None:
    """The kiosk declines a ring, or a colleague declines an invitation."""
    call = await hub.book.get(msg.call_id)
    if peer.profile.kind is PeerKind.STAFF and call.is_invited(peer.profile.identity_id):
        await colleagues.decline(hub, peer, msg)
        return
    await finish(hub, await hub.book.decline(msg.call_id, peer.peer_id))


async def on_cancel(hub: Hub, peer: Peer, msg: Cancel) -> None:
    """The caller gives up before the kiosk answered."""
    await finish(hub, await hub.book.cancel(msg.call_id, peer.peer_id))


async def on_hangup(hub: Hub, peer: Peer, msg: Hangup) -> None:
    """A participant leaves; the call ends with the kiosk or the last staff member."""
    await settle(hub, await hub.book.leave(msg.call_id, peer.peer_id))


async def settle(hub: Hub, departure: Departure, reason: LeaveReason = "hangup") -> None:
    """Tell the others that someone left, or end the call when that was the end of it."""
    left = departure.left
    over = departure.over
    if over is not None:
        await finish(hub, over, leaver=left.peer.peer_id)
        return
    await hub.to_call(
        left.call, PeerLeft(call_id=left.call.call_id, peer_id=left.peer.peer_id, reason=reason)
    )
    staff = departure.profile.staff if departure.profile is not None else None
    if staff is not None:
        async with hub.transaction() as session:
            await store.participant_left(session, left.call.call_id, PeerKind.STAFF, staff.staff_id)


async def _ring_timeout(hub: Hub, call_id: str) -> None:
    over = await hub.book.timeout(call_id)
    if over is not None:
        await finish(hub, over)


async def _record_end(hub: Hub, over: Over, at: dt.datetime) -> VisitUpdate | None:
    """Persist the end, audit it, and let the visit follow; returns the visit's update."""
    call, reason, meta = over.ended.call, over.ended.reason, over.meta
    async with hub.transaction() as session:
        citizen = meta.citizen_db_id if meta else call.citizen_id
        visit_id = meta.visit_id if meta else None
        return await record_end(session, call.call_id, citizen, visit_id, reason, at)


async def record_unwritten_ends(hub: Hub) -> None:
    """Write the ends that found the database away, with the time they happened (the lease
    loop calls this before it reaps, so such a call is never taken for one of a dead server).
    Raises while the database is still away; what is left is tried on the next round."""
    for call_id, (over, at) in list(hub.unwritten_ends.items()):
        update = await _record_end(hub, over, at)
        del hub.unwritten_ends[call_id]
        logger.info("call %s: its end (%s) is recorded late", call_id, over.ended.reason.value)
        await announce(hub, update)


async def record_end(
    session: AsyncSession,
    call_id: str,
    citizen: int | str,
    visit_id: int | None,
    reason: EndReason,
    now: dt.datetime | None = None,
) -> VisitUpdate | None:
    """Store and audit the end of a call (the system ends calls, whoever pressed a button), and
    let its visit follow; the visit's update to announce, if it moved."""
    await store.end_call(session, call_id, reason.value, now)
    detail = {"call": call_id, "reason": reason.value}
    audit.record(session, "call.end", actor="system", subject=("citizen", citizen), detail=detail)
    # The outcome (recorded by the nurse) or the missed-visit ladder closes the visit; until
    # then it is open again: planned, or not answered after failed attempts.
    if visit_id is None:
        return None
    return await lifecycle.follow_call(session, visit_id, reason)


def wire_reason(reason: EndReason) -> WireEndReason:
    """The reason `call-ended` carries: version 1 knows no recorded-only reason (a server that
    stops says the connection was lost, which is what the participants experience)."""
    # The binding test (tests/test_vocabulary.py) keeps the other values equal to the wire's.
    return "connection_lost" if reason in RECORDED_ONLY else cast(WireEndReason, reason.value)


async def finish(hub: Hub, over: Over, *, leaver: str | None = None) -> None:
    """Tell everyone still in the call it is over, release invitations, persist and audit."""
    ended = over.ended
    call = ended.call
    hub.cancel_timer(("ring", call.call_id, ""))
    for seat in [*call.participants, *([leaver] if leaver else [])]:
        hub.cancel_timer(("grace", call.call_id, seat))
    hub.metrics.calls.labels(ended.reason.value).inc()
    at = utcnow()
    try:
        # Bounded: with the database down, people must not wait for a pool timeout to hear it.
        async with asyncio.timeout(END_WRITE_TIMEOUT_S):
            update = await _record_end(hub, over, at)
    except END_WRITE_RETRIED as exc:  # kept and written when the database is back
        logger.warning("call %s: end kept until the database is back: %r", call.call_id, exc)
        hub.unwritten_ends[call.call_id] = (over, at)
        update = None
    except Exception:  # the people in the call must hear it ended even if the write failed
        logger.exception("could not record the end of call %s", call.call_id)
        update = None
    await announce(hub, update)
    logger.info("call %s ended: %s", call.call_id, ended.reason.value)
    await hub.to_call(
        call,
        CallEnded(call_id=call.call_id, reason=wire_reason(ended.reason), by=ended.by),
        exclude=leaver,
    )
    await colleagues.cancel_invitations(hub, call)
    await hub.publish_presence([call.citizen_id])
