"""Delivery of signalling messages to peers, wherever their socket lives.

Every message to a peer goes through a ``Bus``. The in-process bus writes to sockets of this
process; a Redis-backed bus (multi-node) implements the same interface by publishing to the node
that holds the peer, so handlers never change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from pydantic import BaseModel

from .peer import Peer


class Bus(Protocol):
    """Where handlers send messages for peers."""

    async def send(self, peer_id: str, message: BaseModel) -> None:
        """Deliver ``message`` to one peer (dropped if the peer is gone)."""

    async def fan_out(self, peer_ids: Iterable[str], message: BaseModel) -> None:
        """Deliver the same message to several peers."""


class InProcessBus:
    """The single-node bus: peers are the sockets of this process."""

    def __init__(self, peers: Mapping[str, Peer]) -> None:
        self._peers = peers

    async def send(self, peer_id: str, message: BaseModel) -> None:
        """Deliver to one local peer."""
        peer = self._peers.get(peer_id)
        if peer is not None:
            await peer.send(message)

    async def fan_out(self, peer_ids: Iterable[str], message: BaseModel) -> None:
        """Serialise once, then write to each local peer (a snapshot of ids, never a live set)."""
        text = message.model_dump_json()
        for peer_id in list(peer_ids):
            peer = self._peers.get(peer_id)
            if peer is not None:
                await peer.send_text(text)
