"""Relaying offers, answers and candidates between participants of one call."""

from __future__ import annotations

from ..rooms.errors import NotAMember
from .errors import SignalingError
from .hub import Hub
from .messages import (
    Answer,
    Candidate,
    ErrorCode,
    Offer,
    RelayedAnswer,
    RelayedCandidate,
    RelayedOffer,
)
from .peer import Peer


async def _check_route(hub: Hub, peer: Peer, call_id: str, to: str) -> None:
    """Sender and recipient must both hold seats in the call; the server stamps ``from``."""
    call = await hub.book.get(call_id)
    if not call.is_member(peer.peer_id):
        raise NotAMember(call_id, "you are not in this call")
    if to == peer.peer_id or not call.is_member(to):
        raise SignalingError(ErrorCode.UNKNOWN_PEER, "no such participant in this call")


async def on_offer(hub: Hub, peer: Peer, msg: Offer) -> None:
    """Relay an SDP offer (first negotiation or ICE restart) opaque to the server."""
    await _check_route(hub, peer, msg.call_id, msg.to)
    await hub.bus.send(msg.to, RelayedOffer(call_id=msg.call_id, from_=peer.peer_id, sdp=msg.sdp))


async def on_answer(hub: Hub, peer: Peer, msg: Answer) -> None:
    """Relay an SDP answer."""
    await _check_route(hub, peer, msg.call_id, msg.to)
    await hub.bus.send(msg.to, RelayedAnswer(call_id=msg.call_id, from_=peer.peer_id, sdp=msg.sdp))


async def on_candidate(hub: Hub, peer: Peer, msg: Candidate) -> None:
    """Relay a trickled ICE candidate (or the end-of-candidates null)."""
    await _check_route(hub, peer, msg.call_id, msg.to)
    relayed = RelayedCandidate(call_id=msg.call_id, from_=peer.peer_id, candidate=msg.candidate)
    await hub.bus.send(msg.to, relayed)
