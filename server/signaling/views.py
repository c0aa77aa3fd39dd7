"""Building outgoing messages from the book's snapshots of a call."""

from __future__ import annotations

from ..rooms.registry import LiveCall
from ..vocabulary import CallState
from .hub import Hub
from .messages import CallSnapshot, PeerInfo
from .peer import peer_info


async def peers_of(hub: Hub, call: LiveCall) -> tuple[PeerInfo, ...]:
    """Every participant as others see them, with their connection state."""
    infos = []
    for seat in call.participants.values():
        profile = await hub.book.profile(seat.peer_id)
        if profile is not None:
            infos.append(peer_info(seat.peer_id, profile, connected=seat.connected))
    return tuple(infos)


async def snapshot(hub: Hub, call: LiveCall, you: str, ref: int | None = None) -> CallSnapshot:
    """The ``call-state`` for participant ``you``, with a fresh ICE server list."""
    meta = await hub.book.meta(call.call_id)
    return CallSnapshot(
        ref=ref,
        call_id=call.call_id,
        citizen_id=call.citizen_id,
        visit_id=call.visit_id,
        visit_type=meta.visit_type if meta else None,
        state="active" if call.state is CallState.ACTIVE else "ringing",
        you=you,
        peers=await peers_of(hub, call),
        max_participants=call.max_participants,
        ice_servers=hub.ice_for(you),
    )
