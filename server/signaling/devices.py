"""What the tablet can do right now: ``device-state`` in, presence ``sound`` and ``peer-state`` out.

The nurse must always know what the tablet is doing: whether it can ring aloud (a browser that
still waits for a tap rings silently), and whether the citizen's camera and microphone are on.
The kiosk says so; the server keeps it on the kiosk's socket and tells the staff who watch.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..rooms.registry import LiveCall
from ..vocabulary import PeerKind
from .errors import SignalingError
from .hub import Hub
from .messages import DeviceState, ErrorCode, PeerState
from .peer import DeviceFacts, Peer


async def on_device_state(hub: Hub, peer: Peer, msg: DeviceState) -> None:
    """A tablet reports its devices: presence hears a sound change, the call hears any change."""
    citizen_id = peer.profile.citizen_id
    if peer.profile.kind is not PeerKind.KIOSK or citizen_id is None:
        raise SignalingError(ErrorCode.FORBIDDEN, "only a tablet reports its devices")
    facts = DeviceFacts(sound=msg.sound, camera=msg.camera, microphone=msg.microphone)
    before = peer.device
    if facts == before:
        return
    peer.device = facts
    await hub.devices_changed(peer)
    if before is None or before.sound != facts.sound:
        await hub.publish_presence([citizen_id])
    call = await hub.book.call_of(peer.peer_id)
    if call is not None:
        await hub.to_call(call, peer_state(call.call_id, peer.peer_id, facts), exclude=peer.peer_id)


def peer_state(call_id: str, peer_id: str, facts: DeviceFacts) -> PeerState:
    """The ``peer-state`` of one participant."""
    return PeerState(
        call_id=call_id,
        peer_id=peer_id,
        camera=facts.camera,
        microphone=facts.microphone,
        sound=facts.sound,
    )


async def tell_device_states(hub: Hub, call: LiveCall, to: Iterable[str]) -> None:
    """Tell peers entering a call (ring, answer, join, resume) what the others' devices are,
    so a nurse who arrives late, or reloads, knows as much as one who was there."""
    recipients = list(to)
    for seat in list(call.participants):
        peer = await hub.peer_ref(seat)
        if peer is None or peer.device is None:
            continue
        others = [r for r in recipients if r != seat]
        if others:
            await hub.bus.fan_out(others, peer_state(call.call_id, seat, peer.device))
