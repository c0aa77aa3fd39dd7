"""Guests: ``hello`` with an invite, the lobby, and the host's ``admit``, ``deny``, ``remove``.

A guest's socket is authenticated by its invite token (checked as on the join page: valid now,
the relative's consent in force, the PIN given on this device) and enters the lobby of its
meeting. The hosts (staff participants of the call for that visit) hear a ``knock``; admitted,
the guest takes a seat (guests count against ``max_participants``) and offers to everybody.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .. import audit
from ..errors import TooManyRequests
from ..meetings import invites
from ..meetings.access import (
    address_key,
    audit_guest,
    device_of,
    join_limits_key,
    pin_given,
)
from ..meetings.invites import InviteState, Lookup
from ..meetings.lobby import GuestPass, Waiting
from ..models import utcnow
from ..rooms.book import PeerProfile
from ..rooms.registry import LiveCall
from ..security import new_token
from ..vocabulary import CallState, PeerKind
from .errors import SignalingError
from .hub import Hub
from .messages import (
    Admit,
    Admitted,
    CloseCode,
    Denied,
    Deny,
    ErrorCode,
    Hello,
    Knock,
    LobbyLeaveReason,
    LobbyLeft,
    PeerJoined,
    Remove,
    Removed,
)
from .peer import Peer, PeerRef
from .views import snapshot

logger = logging.getLogger(__name__)


def _refused(reason: str) -> SignalingError:
    return SignalingError(ErrorCode.FORBIDDEN, reason, close=CloseCode.POLICY_VIOLATION)


async def guest_profile(
    request: web.Request, hub: Hub, hello: Hello
) -> tuple[PeerProfile, GuestPass]:
    """Who a guest is, from the invite token in ``hello`` (refused: ``forbidden``, 1008)."""
    assert hello.invite is not None
    limits = request.app[join_limits_key].by_address
    address = address_key(request)
    try:
        attempt = await limits.take(address)
    except TooManyRequests:
        raise _refused("too many failed attempts; wait a while") from None
    device = device_of(request)
    secret = hub.settings.secret_key
    now = utcnow()
    async with hub.transaction() as session:
        found = await invites.lookup(session, hello.invite, now)
        invite = found.invite
        refusal = _refusal(found)
        if invite is not None and not pin_given(request, secret, invite, device):
            refusal = refusal or "give the PIN on the join page first"
        if refusal is None and invite is not None and await _turned_away(hub, hello, invite.id):
            refusal = DENIED
        if refusal is not None or invite is None:
            audit_guest(session, request, "invite.refused", found, {"reason": refusal, "ws": True})
        else:
            another = invites.first_use(invite, device.hash, now)
            audit_guest(session, request, "invite.knock", found, {"another_device": another})
            name = (hello.name or "").strip() or invite.name
            guest = GuestPass(
                invite.id,
                str(invite.visit_id),
                str(invite.citizen_id),
                invite.name,
                invite.kind.value,
                another,
            )
    if found.state is not InviteState.UNKNOWN:  # only unknown invites count as guesses
        await limits.forgive(address, attempt)
    if refusal is not None or invite is None:
        raise _refused(refusal or "unknown invite")
    profile = PeerProfile(
        kind=PeerKind.GUEST,
        identity_id=_guest_identity(guest.invite_id),
        name=name[:200],
        role="relative" if guest.kind == "relative" else "guest",
        org_id=str(found.organisation_id),
    )
    return profile, guest


DENIED = "the host did not let you in; wait a while before you knock again"


async def _turned_away(hub: Hub, hello: Hello, invite_id: int) -> bool:
    """A host denied this invite lately: no new knock (a seat's resume still goes through)."""
    return hello.resume is None and await hub.lobby.turned_away(invite_id)


def _refusal(found: Lookup) -> str | None:
    """Why an invite cannot be used now (the reason is the invite's state), or None."""
    return None if found.state is InviteState.OPEN else f"invite {found.state.value}"


# -- the lobby ------------------------------------------------------------------------------


async def meeting_call(hub: Hub, visit_id: str) -> LiveCall | None:
    """The live call of this meeting (visit), if a host has started it."""
    return await hub.book.call_of_visit(visit_id)


def _hosts(call: LiveCall) -> list[str]:
    return [p.peer_id for p in call.staff if p.connected]


def knock_message(waiting: Waiting, call: LiveCall | None) -> Knock:
    """The ``knock`` the hosts see."""
    guest = waiting.guest
    return Knock(
        lobby_id=waiting.lobby_id,
        visit_id=guest.visit_id,
        call_id=call.call_id if call is not None else None,
        invite_id=str(guest.invite_id),
        name=waiting.name,
        invited_as=guest.invited_as,
        kind=guest.kind,
        another_device=guest.another_device,
    )


async def enter_lobby(hub: Hub, peer: Peer) -> None:
    """A guest was welcomed: it waits, and the meeting's hosts (if in the call) hear a knock."""
    guest = peer.guest
    if guest is None:
        return
    waiting = Waiting(new_token(9), peer.peer_id, peer.profile.name, guest)
    await hub.lobby.add(waiting)
    call = await meeting_call(hub, guest.visit_id)
    if call is not None:
        await hub.bus.fan_out(_hosts(call), knock_message(waiting, call))


async def tell_waiting(hub: Hub, call: LiveCall, to: list[str]) -> None:
    """Staff entering a meeting's call hear every guest already waiting."""
    if call.visit_id is None:
        return
    for waiting in await hub.lobby.for_visit(call.visit_id):
        await hub.bus.fan_out(to, knock_message(waiting, call))


async def _lobby_left(hub: Hub, waiting: Waiting, reason: LobbyLeaveReason) -> None:
    call = await meeting_call(hub, waiting.guest.visit_id)
    if call is not None:
        await hub.bus.fan_out(_hosts(call), LobbyLeft(lobby_id=waiting.lobby_id, reason=reason))


async def left(hub: Hub, peer: PeerRef) -> None:
    """A guest's socket closed while waiting: the hosts' lobby lists drop it."""
    if peer.profile.kind is not PeerKind.GUEST:  # only guests wait in a lobby
        return
    waiting = await hub.lobby.of_peer(peer.peer_id)
    if waiting is not None and await hub.lobby.take(waiting.lobby_id) is not None:
        await _lobby_left(hub, waiting, "left")


async def _host_call(hub: Hub, host: Peer, visit_id: str) -> LiveCall:
    """The host's call, which must be this meeting's."""
    if host.profile.kind is not PeerKind.STAFF:
        raise SignalingError(ErrorCode.FORBIDDEN, "only the meeting's host can do this")
    call = await hub.book.call_of(host.peer_id)
    if call is None or call.visit_id != visit_id:
        raise SignalingError(ErrorCode.NOT_MEMBER, "you are not in this meeting's call")
    return call


async def _waiting(hub: Hub, host: Peer, lobby_id: str) -> tuple[Waiting, LiveCall, PeerRef]:
    waiting = await hub.lobby.get(lobby_id)
    if waiting is None:
        if host.profile.kind is not PeerKind.STAFF:
            raise SignalingError(ErrorCode.FORBIDDEN, "only the meeting's host can do this")
        raise SignalingError(ErrorCode.UNKNOWN_GUEST, "nobody waits with that lobby id")
    call = await _host_call(hub, host, waiting.guest.visit_id)
    guest = await hub.peer_ref(waiting.peer_id)
    if guest is None:
        raise SignalingError(ErrorCode.UNKNOWN_GUEST, "that guest has gone")
    return waiting, call, guest


async def on_admit(hub: Hub, peer: Peer, msg: Admit) -> None:
    """The host lets a guest in: it takes a seat and offers to everybody (mesh)."""
    waiting, call, guest = await _waiting(hub, peer, msg.lobby_id)
    if call.state is not CallState.ACTIVE:
        raise SignalingError(ErrorCode.INVALID_STATE, "the call has not been answered yet")
    call = await hub.book.admit(call.call_id, guest.seat())  # room_full when no seat is free
    await hub.lobby.take(waiting.lobby_id)
    await guest.send(Admitted(call_id=call.call_id))
    await guest.send(await snapshot(hub, call, guest.peer_id))
    joined = PeerJoined(call_id=call.call_id, peer=guest.info())
    await hub.to_call(call, joined, exclude=guest.peer_id)
    await _lobby_left(hub, waiting, "admitted")
    await _audit_host(hub, peer, waiting.guest, waiting.name, "invite.admit")
    logger.info("guest %s admitted to call %s", guest.peer_id, call.call_id)


async def on_deny(hub: Hub, peer: Peer, msg: Deny) -> None:
    """The host turns a guest away: a kind message, then the socket closes; her invite may
    not knock again for ``guest_denied_s`` (she would otherwise knock again at once)."""
    waiting, _, guest = await _waiting(hub, peer, msg.lobby_id)
    await hub.lobby.take(waiting.lobby_id)
    await hub.lobby.turn_away(waiting.guest.invite_id, hub.settings.guest_denied_s)
    await guest.send(Denied())
    await _lobby_left(hub, waiting, "denied")
    await _audit_host(hub, peer, waiting.guest, waiting.name, "invite.deny")
    await hub.bus.close(guest.peer_id, CloseCode.NORMAL, "denied", banish=True)


async def on_remove(hub: Hub, peer: Peer, msg: Remove) -> None:
    """The host takes a guest out of the call; the others hear ``peer-left``."""
    call = await hub.book.get(msg.call_id)
    if peer.profile.kind is not PeerKind.STAFF or not call.is_member(peer.peer_id):
        raise SignalingError(ErrorCode.NOT_MEMBER, "you are not in this call")
    seat = call.participant(msg.peer_id)
    if seat is None:
        raise SignalingError(ErrorCode.UNKNOWN_PEER, "no such participant")
    if seat.kind is not PeerKind.GUEST:
        raise SignalingError(ErrorCode.FORBIDDEN, "only guests can be removed")
    guest = await hub.peer_ref(msg.peer_id)
    if guest is not None and guest.guest is not None:
        await _audit_host(hub, peer, guest.guest, guest.profile.name, "invite.remove")
    await _take_out(hub, call, msg.peer_id, "removed")


async def _take_out(hub: Hub, call: LiveCall, peer_id: str, why: str) -> None:
    """A guest leaves the call at the host's word (or her invite's end): the others hear
    ``peer-left``, she hears ``removed`` and her socket closes for good."""
    from . import calls  # calls imports this module (its hosts hear knocks): import late

    hub.cancel_timer(("grace", call.call_id, peer_id))
    await calls.settle(hub, await hub.book.leave(call.call_id, peer_id))
    await hub.bus.send(peer_id, Removed(call_id=call.call_id))
    await hub.bus.close(peer_id, CloseCode.NORMAL, why, banish=True)


async def _audit_host(hub: Hub, host: Peer, guest: GuestPass, name: str, action: str) -> None:
    """The host's decision about a guest, under the host's name."""
    staff = host.profile.staff
    assert staff is not None
    async with hub.transaction() as session:
        detail = {"visit": guest.visit_id, "name": name}
        audit.record(
            session, action, actor=staff, subject=("invite", guest.invite_id), detail=detail
        )


async def withdraw(hub: Hub, invite_id: int, visit_id: int) -> None:
    """An invite was revoked: whoever it let in goes, on whichever node — out of the lobby
    (``denied``) or out of the call (``removed``); the hosts see them leave."""
    for waiting in await hub.lobby.for_visit(str(visit_id)):
        if waiting.guest.invite_id == invite_id and await hub.lobby.take(waiting.lobby_id):
            await hub.bus.send(waiting.peer_id, Denied())
            await _lobby_left(hub, waiting, "denied")
            await hub.bus.close(waiting.peer_id, CloseCode.NORMAL, "invite revoked", banish=True)
    call = await hub.book.call_of_visit(str(visit_id))
    if call is not None:
        await _remove_seats(hub, call, _guest_identity(invite_id))


async def _remove_seats(hub: Hub, call: LiveCall, identity_id: str) -> None:
    for seat in call.participants.values():
        if seat.kind is PeerKind.GUEST and seat.identity_id == identity_id:
            await _take_out(hub, call, seat.peer_id, "invite revoked")


def _guest_identity(invite_id: int) -> str:
    """A guest's identity in a call: the invite that let her in."""
    return f"invite-{invite_id}"
