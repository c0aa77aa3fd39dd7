"""Adding a colleague to a live call: invite, accept (join), decline, expiry."""

from __future__ import annotations

from collections.abc import Iterable

from ..rooms import store
from ..rooms.policy import JoinVerdict, may_join
from ..rooms.registry import LiveCall
from ..vocabulary import PeerKind
from . import devices, guests
from .errors import SignalingError
from .facts import caller_facts, db_id
from .hub import Hub
from .messages import (
    Accept,
    Decline,
    ErrorCode,
    Invite,
    Invited,
    InviteEnded,
    InviteEndReason,
    PeerJoined,
)
from .peer import Peer, PeerRef
from .views import snapshot


async def _tabs(hub: Hub, staff_id: str, *, besides: str | None = None) -> list[str]:
    return [p for p in await hub.book.staff_tabs(staff_id) if p != besides]


async def on_invite(hub: Hub, peer: Peer, msg: Invite) -> None:
    """A staff participant invites an online colleague who is not in a call."""
    if peer.profile.kind is not PeerKind.STAFF:
        raise SignalingError(ErrorCode.FORBIDDEN, "only staff can invite")
    call = await hub.book.get(msg.call_id)
    if not call.is_member(peer.peer_id):
        raise SignalingError(ErrorCode.NOT_MEMBER, "you are not in this call")
    # Only then whether the colleague is online or busy: an outsider, or a colleague of another
    # organisation, must not learn that of any user id (an unknown id answers the same).
    await _check_same_organisation(hub, peer, msg.user_id)
    refs = [r for tab in await _tabs(hub, msg.user_id) if (r := await hub.peer_ref(tab))]
    tabs = [r.peer_id for r in refs]
    if not tabs:
        raise SignalingError(ErrorCode.OFFLINE, "that colleague is not online")
    if any([await hub.book.call_of(tab) for tab in tabs]):
        raise SignalingError(ErrorCode.BUSY, "that colleague is in another call")
    await _check_join_policy(hub, peer, refs[0], call)
    call = await hub.book.invite(msg.call_id, peer.peer_id, msg.user_id)
    meta = await hub.book.meta(call.call_id)
    invited = Invited(
        call_id=call.call_id,
        citizen_id=call.citizen_id,
        by=peer.info(),
        visit_id=call.visit_id,
        visit_type=meta.visit_type if meta else None,
        expires_in_s=hub.settings.ring_timeout_s,
    )
    await hub.bus.fan_out(tabs, invited)
    hub.start_timer(
        ("invite", call.call_id, msg.user_id),
        hub.settings.ring_timeout_s,
        lambda: _expire(hub, call.call_id, msg.user_id),
    )


async def _check_same_organisation(hub: Hub, inviter: Peer, user_id: str) -> None:
    staff_id = db_id(user_id)
    async with hub.transaction() as session:
        org_id = await store.staff_organisation(session, staff_id) if staff_id else None
    if org_id is None or str(org_id) != inviter.profile.org_id:
        raise SignalingError(ErrorCode.FORBIDDEN, "you cannot invite that person to this call")


async def _check_join_policy(hub: Hub, inviter: Peer, joiner: PeerRef, call: LiveCall) -> None:
    citizen_id = db_id(call.citizen_id)
    async with hub.transaction() as session:
        citizen = await store.citizen_facts(session, citizen_id) if citizen_id else None
    if citizen is None:
        raise SignalingError(ErrorCode.FORBIDDEN, "unknown citizen")
    verdict = may_join(
        caller_facts(inviter.profile),
        caller_facts(joiner.profile),
        citizen,
        call.seats_taken,
        max_participants=call.max_participants,
    )
    if verdict is not JoinVerdict.ALLOWED:
        raise SignalingError(ErrorCode(verdict.value), "this colleague cannot join this call")


async def join(hub: Hub, peer: Peer, msg: Accept) -> None:
    """The invited colleague accepts from one tab and takes the reserved seat."""
    call = await hub.book.join(msg.call_id, peer.seat())
    staff_id = peer.profile.identity_id
    hub.cancel_timer(("invite", call.call_id, staff_id))
    await peer.send(await snapshot(hub, call, peer.peer_id, ref=msg.id))
    await hub.to_call(
        call, PeerJoined(call_id=call.call_id, peer=peer.info()), exclude=peer.peer_id
    )
    await devices.tell_device_states(hub, call, [peer.peer_id])
    await guests.tell_waiting(hub, call, [peer.peer_id])
    others = await _tabs(hub, staff_id, besides=peer.peer_id)
    await _ended(hub, call.call_id, staff_id, "accepted", others)
    if peer.profile.staff is not None:
        async with hub.transaction() as session:
            await store.add_participant(session, call.call_id, peer.profile.staff.staff_id)


async def decline(hub: Hub, peer: Peer, msg: Decline) -> None:
    """The invited colleague says no; the seat is released."""
    staff_id = peer.profile.identity_id
    call = await hub.book.decline_invite(msg.call_id, staff_id)
    hub.cancel_timer(("invite", call.call_id, staff_id))
    others = await _tabs(hub, staff_id, besides=peer.peer_id)
    await _ended(hub, call.call_id, staff_id, "declined", [*call.participants, *others])


async def _expire(hub: Hub, call_id: str, staff_id: str) -> None:
    call = await hub.book.expire_invite(call_id, staff_id)
    if call is not None:
        tabs = await _tabs(hub, staff_id)
        await _ended(hub, call_id, staff_id, "timeout", [*call.participants, *tabs])


async def cancel_invitations(hub: Hub, call: LiveCall) -> None:
    """The call ended: every open invitation is withdrawn."""
    for staff_id in list(call.invited):
        hub.cancel_timer(("invite", call.call_id, staff_id))
        await _ended(hub, call.call_id, staff_id, "cancelled", await _tabs(hub, staff_id))


async def _ended(
    hub: Hub, call_id: str, staff_id: str, reason: InviteEndReason, to: Iterable[str]
) -> None:
    message = InviteEnded(call_id=call_id, user_id=staff_id, reason=reason)
    await hub.bus.fan_out(to, message)
