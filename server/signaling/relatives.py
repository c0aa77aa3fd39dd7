"""A relative rings the tablet: ``hello`` with a call link, then ``ring`` for that citizen only.

The socket is a guest peer (``identity.id`` ``link-<id>``, role ``relative``, with the relation
"datter" shown to the kiosk) that may ring exactly the citizen of its link and then hang up; it
never waits in a lobby. Every ring checks the link, the consents and the organisation's setting
again (``meetings.relative_calls``) and is never auto-answered. Refusals are audited.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..errors import TooManyRequests
from ..keys import relative_link_limiter_key
from ..meetings import relative_calls
from ..meetings.relative_calls import Check, Refusal
from ..models import utcnow
from ..rooms import store
from ..rooms.book import CallMeta, PeerProfile
from ..security import new_token
from ..vocabulary import PeerKind
from .errors import SignalingError
from .facts import db_id
from .hub import Hub
from .messages import CloseCode, ErrorCode, Hello, Ring
from .peer import Peer, PeerRef
from .views import snapshot

logger = logging.getLogger(__name__)
IDENTITY_PREFIX = "link-"
# What the relative's page is told; the page shows its own plain Danish text per case.
REFUSAL_TEXT = {
    Refusal.CALLS_OFF: "relatives may not ring tablets in this organisation",
    Refusal.NO_SCREEN_VISITS: "the citizen has not consented to screen visits",
    Refusal.OTHER_CITIZEN: "this link rings one citizen only",
}


def is_relative(peer: Peer) -> bool:
    """A socket that came in with a relative's call link."""
    profile = peer.profile
    return profile.kind is PeerKind.GUEST and profile.identity_id.startswith(IDENTITY_PREFIX)


def _link_id(peer: Peer) -> int:
    return int(peer.profile.identity_id.removeprefix(IDENTITY_PREFIX))


async def relative_profile(request: web.Request, hub: Hub, hello: Hello) -> PeerProfile:
    """Who a relative is, from the call link in ``hello`` (refused: ``forbidden``, 1008)."""
    assert hello.link is not None
    limiter = request.app[relative_link_limiter_key]
    address = request.remote or "unknown"
    try:
        attempt = await limiter.take(address)
    except TooManyRequests:
        raise _closing("too many wrong links; wait a while") from None
    async with hub.transaction() as session:
        check = await relative_calls.by_token(session, hello.link, utcnow())
        if check.caller is None:
            detail = {"reason": _reason(check), "ws": True, "step": "hello"}
            relative_calls.record_event(session, relative_calls.REFUSED_ACTION, check, detail)
    if check.refusal is not Refusal.UNKNOWN:  # only unknown links count as guesses
        await limiter.forgive(address, attempt)
    caller = check.caller
    if caller is None:
        raise _closing(f"this link cannot ring now ({_reason(check)})")
    return PeerProfile(
        kind=PeerKind.GUEST,
        identity_id=f"{IDENTITY_PREFIX}{caller.link_id}",
        name=caller.name[:200],
        role="relative",
        org_id=str(caller.organisation_id),
        relation=caller.relation[:200] or None,
    )


def _reason(check: Check) -> str:
    return (check.refusal or Refusal.UNKNOWN).value


def _closing(message: str) -> SignalingError:
    return SignalingError(ErrorCode.FORBIDDEN, message, close=CloseCode.POLICY_VIOLATION)


async def on_ring(hub: Hub, peer: Peer, msg: Ring) -> None:
    """The relative rings her citizen's tablet: checked again now, never auto-answered."""
    if msg.visit_id is not None:
        raise SignalingError(ErrorCode.FORBIDDEN, "a relative's ring has no visit")
    caller = await _checked(hub, peer, db_id(msg.citizen_id))
    kiosk = await hub.kiosk_peer(msg.citizen_id)
    if kiosk is None:
        await _unanswerable(hub, caller, Refusal.OFFLINE)
        raise SignalingError(ErrorCode.OFFLINE, "the citizen's tablet is not online")
    if await hub.book.call_of_citizen(msg.citizen_id) is not None:
        await _unanswerable(hub, caller, Refusal.BUSY)
        raise SignalingError(ErrorCode.BUSY, "the citizen is already in a call")
    async with hub.transaction() as session:
        times = await store.ring_times(session, caller.organisation_id, _defaults(hub))
    meta = CallMeta(caller.citizen_id, None, None, False, None, times.ring_timeout_s)
    call = await hub.book.ring(new_token(12), msg.citizen_id, peer.seat(), kiosk.seat(), meta)
    try:
        async with hub.transaction() as session:
            now = utcnow()
            await relative_calls.record_ring(
                session,
                caller,
                call.call_id,
                kiosk.profile.kiosk_db_id,
                owner=hub.owner,
                lease_until=hub.lease_until(now),
            )
    except BaseException:
        await hub.book.leave(call.call_id, peer.peer_id)  # nobody was told: no busy ghost
        raise
    await _ring_out(hub, peer, kiosk, call.call_id, meta, msg.id)


async def _ring_out(
    hub: Hub, peer: Peer, kiosk: PeerRef, call_id: str, meta: CallMeta, ref: int | None
) -> None:
    """Tell both sides and start the ring timer, as for a nurse's ring."""
    from . import calls  # calls hands relatives' rings to this module: import late

    call = await hub.book.get(call_id)
    await peer.send(await snapshot(hub, call, peer.peer_id, ref=ref))
    await kiosk.send(calls.ring_message(hub, call, peer, kiosk, meta, None))
    hub.start_timer(
        ("ring", call_id, ""), meta.ring_timeout_s, lambda: calls._ring_timeout(hub, call_id)
    )
    await hub.publish_presence([call.citizen_id])
    logger.info("relative %s rang citizen %s (call %s)", peer.peer_id, call.citizen_id, call_id)


async def _unanswerable(hub: Hub, caller: relative_calls.Caller, refusal: Refusal) -> None:
    """A ring that could not reach the tablet (offline, busy) is audited too."""
    async with hub.transaction() as session:
        check = Check(refusal, caller)
        detail = {"reason": refusal.value}
        relative_calls.record_event(session, relative_calls.REFUSED_ACTION, check, detail)


def _defaults(hub: Hub) -> store.RingTimes:
    return store.RingTimes(hub.settings.ring_timeout_s, hub.settings.auto_answer_after_s)


async def _checked(hub: Hub, peer: Peer, citizen_id: int | None) -> relative_calls.Caller:
    """The link, consents, setting and rate limit, now; a refusal is audited and answered."""
    async with hub.transaction() as session:
        check = await relative_calls.may_ring(session, _link_id(peer), citizen_id, utcnow())
        if check.caller is None:
            detail = {"reason": _reason(check), "asked_citizen": citizen_id}
            relative_calls.record_event(session, relative_calls.REFUSED_ACTION, check, detail)
    if check.caller is not None:
        return check.caller
    if check.refusal is Refusal.TOO_MANY:
        raise SignalingError(ErrorCode.RATE_LIMITED, "rung too often; wait ten minutes")
    text = REFUSAL_TEXT.get(
        check.refusal or Refusal.UNKNOWN, f"this link cannot ring now ({_reason(check)})"
    )
    raise SignalingError(ErrorCode.FORBIDDEN, text)
