"""Delivery of signalling messages to peers, wherever their socket lives.

Every message to a peer goes through a ``Bus``. The in-process bus writes to sockets of this
process; the cluster's bus (``signaling.cluster``, when ``SCREENVISIT_REDIS_URL`` is set)
implements the same interface by publishing to the node that holds the peer, so handlers never
change. The bus also finds a peer on another node (its face and seat) and closes it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from pydantic import BaseModel

from .peer import Peer, PeerRef


class Bus(Protocol):
    """Where handlers send messages for peers."""

    async def send(self, peer_id: str, message: BaseModel) -> None:
        """Deliver ``message`` to one peer (dropped if the peer is gone)."""

    async def fan_out(self, peer_ids: Iterable[str], message: BaseModel) -> None:
        """Deliver the same message to several peers."""

    async def lookup(self, peer_id: str) -> PeerRef | None:
        """A connected peer that is not on this node; None when there is none."""

    async def describe(self, peer: Peer) -> None:
        """Let other nodes know a local peer's devices changed."""

    async def forget_tablets(self, citizen_id: int) -> None:
        """The citizen's tablets were revoked or replaced: other nodes must look their tokens
        up afresh (this node's own cache was told already)."""

    async def close(
        self, peer_id: str, code: int, reason: str, *, banish: bool = False, notice: str = ""
    ) -> None:
        """Close a peer's socket wherever it is (``notice``: a last JSON frame before)."""


async def close_local(peer: Peer, code: int, reason: str, *, banish: bool, notice: str) -> None:
    """Close one socket of this process: a last frame, then the close."""
    if notice:
        await peer.send_text(notice)
    if banish:
        peer.banished = True
    await peer.ws.close(code=code, message=reason.encode()[:120])


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

    async def lookup(self, peer_id: str) -> PeerRef | None:
        """One node: every peer is local."""
        return None

    async def describe(self, peer: Peer) -> None:
        """One node: nobody else to tell."""

    async def forget_tablets(self, citizen_id: int) -> None:
        """One node: nobody else to tell."""

    async def close(
        self, peer_id: str, code: int, reason: str, *, banish: bool = False, notice: str = ""
    ) -> None:
        """Close a local socket."""
        peer = self._peers.get(peer_id)
        if peer is not None:
            await close_local(peer, code, reason, banish=banish, notice=notice)
