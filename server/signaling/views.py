"""Building outgoing messages from registry snapshots (pure functions of hub state)."""

from __future__ import annotations

from ..rooms.registry import CallState, LiveCall
from .hub import Hub
from .messages import CallSnapshot, PeerInfo
from .peer import peer_info


def peers_of(hub: Hub, call: LiveCall) -> tuple[PeerInfo, ...]:
    """Every participant as others see them, with their connection state."""
    infos = []
    for seat in call.participants.values():
        profile = hub.seats.get(seat.peer_id)
        if profile is not None:
            infos.append(peer_info(seat.peer_id, profile, connected=seat.connected))
    return tuple(infos)


def snapshot(hub: Hub, call: LiveCall, you: str, ref: int | None = None) -> CallSnapshot:
    """The ``call-state`` for participant ``you``, with a fresh ICE server list."""
    meta = hub.calls.get(call.call_id)
    return CallSnapshot(
        ref=ref,
        call_id=call.call_id,
        citizen_id=call.citizen_id,
        visit_id=call.visit_id,
        visit_type=meta.visit_type if meta else None,
        state="active" if call.state is CallState.ACTIVE else "ringing",
        you=you,
        peers=peers_of(hub, call),
        max_participants=call.max_participants,
        ice_servers=hub.ice_for(you),
    )
