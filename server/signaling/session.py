"""A socket's life in the hub: authentication, welcome, resume, presence and disconnect."""

from __future__ import annotations

import logging

from aiohttp import web

from ..auth.devices import kiosk_tokens_key
from ..auth.scope import visible_citizen_ids
from ..keys import identity_key, sessionmaker_key, staff_photos_key
from ..meetings.lobby import GuestPass
from ..rooms import store
from ..rooms.book import PeerProfile
from ..rooms.errors import RoomError
from ..security import new_token
from ..vocabulary import CallState, PeerKind
from . import calls, devices, guests, relatives
from .errors import SignalingError, refusal_for
from .facts import db_id
from .hub import Hub
from .messages import (
    SUPPORTED_VERSIONS,
    CallSnapshot,
    CloseCode,
    ErrorCode,
    Hello,
    Identity,
    PeerDisconnected,
    PeerReconnected,
    Ping,
    Pong,
    Presence,
    PresenceSubscribe,
    Welcome,
)
from .peer import Peer, PeerRef
from .views import snapshot

logger = logging.getLogger(__name__)


async def authenticate(
    request: web.Request, hub: Hub, hello: Hello
) -> tuple[PeerProfile, GuestPass | None]:
    """Who is behind this socket: a kiosk by its device token, a guest by its invite, staff by
    the session cookie; a guest's invite comes along."""
    if hello.version and not set(hello.version) & set(SUPPORTED_VERSIONS):
        raise SignalingError(
            ErrorCode.UNSUPPORTED_VERSION, "supported versions: 1", close=CloseCode.PROTOCOL_ERROR
        )
    if hello.invite is not None:
        return await guests.guest_profile(request, hub, hello)
    if hello.link is not None:
        return await relatives.relative_profile(request, hub, hello), None
    if hello.token is not None:
        return await _kiosk_profile(request, hello.token), None
    identity = request.get(identity_key)
    if identity is None:
        raise SignalingError(
            ErrorCode.NOT_AUTHENTICATED,
            "log in or present a device token",
            close=CloseCode.POLICY_VIOLATION,
        )
    photo = await _staff_photo(request, hub, identity.staff_id)
    profile = PeerProfile(
        kind=PeerKind.STAFF,
        identity_id=str(identity.staff_id),
        name=identity.display_name,
        role=identity.role.value,
        org_id=str(identity.organisation_id),
        photo_url=photo,
        team_ids=frozenset(str(t) for t in identity.team_ids),
        staff=identity,
    )
    return profile, None


async def _staff_photo(request: web.Request, hub: Hub, staff_id: int) -> str | None:
    """The staff member's photo, from memory when she connected a moment ago (another tab)."""
    photos = request.app[staff_photos_key]
    known = photos.get(staff_id)
    if known is None:
        async with hub.transaction() as session:
            known = (await store.staff_photo(session, staff_id),)
        photos.put(staff_id, known)
    return known[0]


async def _kiosk_profile(request: web.Request, token: str) -> PeerProfile:
    app = request.app
    owner = await app[kiosk_tokens_key].owner(app[sessionmaker_key], token)
    if owner is None:
        raise SignalingError(
            ErrorCode.FORBIDDEN,
            "this tablet is not enrolled (or revoked)",
            close=CloseCode.POLICY_VIOLATION,
        )
    return PeerProfile(
        kind=PeerKind.KIOSK,
        identity_id=str(owner.kiosk_id),
        name=owner.citizen_name,
        role="citizen",
        org_id=str(owner.organisation_id),
        citizen_id=str(owner.citizen_id),
        kiosk_db_id=owner.kiosk_id,
    )


async def welcome(hub: Hub, peer: Peer, hello: Hello) -> None:
    """Send ``welcome``, taking back a seat first when the hello asks to resume."""
    resumed, failure = None, None
    if hello.resume is not None:
        try:
            resumed = await _resume(hub, peer, hello.resume.call_id, hello.resume.resume_token)
        except RoomError as exc:
            failure = exc
    profile = peer.profile
    kind = profile.kind
    resumable = await hub.book.resumable(kind, profile.identity_id)
    await peer.send(
        Welcome(
            ref=hello.id,
            version=SUPPORTED_VERSIONS[0],
            peer_id=peer.peer_id,
            identity=Identity(
                kind=kind.value,
                id=profile.identity_id,
                name=profile.name,
                role=profile.role,
                citizen_id=profile.citizen_id,
            ),
            ice_servers=hub.ice_for(peer.peer_id),
            heartbeat_s=hub.settings.ws_heartbeat_s,
            ring_timeout_s=hub.settings.ring_timeout_s,
            resume_grace_s=hub.settings.reconnect_grace_s,
            resume_token=peer.resume_token,
            resumed=resumed,
            resumable=tuple(c.call_id for c in resumable)[:16],
        )
    )
    if failure is not None:
        await peer.send(refusal_for(failure, hello.id).error)
    elif resumed is not None:
        await _after_resume(hub, peer, resumed.call_id)
    if resumed is None and peer.guest is not None:
        await guests.enter_lobby(hub, peer)


async def _resume(hub: Hub, peer: Peer, call_id: str, token: str) -> CallSnapshot:
    result = await hub.book.resume(call_id, token, peer.seat())
    hub.cancel_timer(("grace", call_id, result.old_peer_id))
    # A half-open old socket (here or on another node): the newer one is in charge now.
    await hub.bus.close(result.old_peer_id, CloseCode.REPLACED, "resumed elsewhere")
    await hub.to_call(
        result.call,
        PeerReconnected(call_id=call_id, old_peer_id=result.old_peer_id, peer=peer.info()),
        exclude=peer.peer_id,
    )
    logger.info("peer %s resumed call %s", peer.peer_id, call_id)
    return await snapshot(hub, result.call, peer.peer_id)


async def _after_resume(hub: Hub, peer: Peer, call_id: str) -> None:
    """A resumed peer hears the others' devices; a kiosk that resumes a ringing call rings
    again (its screen was reloaded)."""
    call = await hub.book.find(call_id)
    if call is None:
        return
    await devices.tell_device_states(hub, call, [peer.peer_id])
    if peer.profile.kind is PeerKind.STAFF:
        await guests.tell_waiting(hub, call, [peer.peer_id])
    if call.state is not CallState.RINGING or peer.profile.kind is not PeerKind.KIOSK:
        return
    # The caller: the ringing staff member, or the relative who rang from her call link.
    others = [await hub.peer_ref(s.peer_id) for s in call.others(peer.peer_id)]
    caller = next((o for o in others if o is not None), None)
    meta = await hub.book.meta(call_id)
    if caller is not None and meta is not None:
        auto_s = meta.auto_answer_after_s  # the citizen's consent still holds
        await peer.send(calls.ring_message(hub, call, caller, peer, meta, auto_s))


async def disconnected(hub: Hub, peer: PeerRef) -> None:
    """The socket closed: keep its seat for the grace period, then release it (at once for a
    socket the server closed for good: a revoked tablet must not stay in a call for 30 s)."""
    await guests.left(hub, peer)
    call = await hub.book.drop(peer.peer_id)
    grace = 0 if peer.banished else hub.settings.reconnect_grace_s
    if call is not None:  # the timer first: whatever fails below, the seat is released in time
        hub.start_timer(
            ("grace", call.call_id, peer.peer_id),
            grace,
            lambda: _grace_over(hub, call.call_id, peer.peer_id),
        )
    await hub.detach(peer)
    if call is None or not grace:
        return
    await hub.to_call(
        call,
        PeerDisconnected(call_id=call.call_id, peer_id=peer.peer_id, grace_s=grace),
        exclude=peer.peer_id,
    )


async def _grace_over(hub: Hub, call_id: str, peer_id: str) -> None:
    departure = await hub.book.expire_grace(call_id, peer_id)
    if departure is not None:
        await calls.settle(hub, departure, reason="connection_lost")


async def on_ping(hub: Hub, peer: Peer, msg: Ping) -> None:
    """Application-level ping: the kiosk measures signalling round-trip with it."""
    await peer.send(Pong(ref=msg.id))


async def on_presence_subscribe(hub: Hub, peer: Peer, msg: PresenceSubscribe) -> None:
    """Follow the kiosks of the citizens this staff member may see (others silently left out)."""
    identity = peer.profile.staff
    if identity is None:
        raise SignalingError(ErrorCode.FORBIDDEN, "only staff follow presence")
    wanted = {i for c in msg.citizen_ids if (i := db_id(c)) is not None}
    async with hub.transaction() as session:
        visible = await visible_citizen_ids(session, identity, wanted)
    ids = [str(i) for i in sorted(visible)]
    await hub.book.subscribe(peer.peer_id, ids)
    await peer.send(Presence(ref=msg.id, entries=tuple(await hub.presence_entries(ids))))


def new_peer(
    ws: web.WebSocketResponse, profile: PeerProfile, guest: GuestPass | None = None
) -> Peer:
    """A peer with fresh random ids (peer ids double as TURN username parts: no ':')."""
    return Peer(
        peer_id=new_token(12), ws=ws, profile=profile, resume_token=new_token(24), guest=guest
    )
