"""Our side of one live call: the offer/answer rules of PROTOCOL.md on top of a PeerManager."""

from __future__ import annotations

import asyncio
import logging
import time

from server.signaling.messages import (
    Answer,
    CallSnapshot,
    Offer,
    PeerDisconnected,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PeerReconnected,
    RelayedAnswer,
    RelayedCandidate,
    RelayedOffer,
    ServerMessage,
)

from .media import LocalMedia
from .peers import Clock, PeerManager
from .signaling import SignalingClient

logger = logging.getLogger(__name__)


class CallSession:
    """One participant's media links in one call, driven by relayed signalling messages.

    The peer that has just entered the call offers to everybody else; everybody else only
    answers. A pair's offerer stays its offerer, so it alone restarts a failed connection.
    """

    def __init__(
        self,
        client: SignalingClient,
        snapshot: CallSnapshot,
        media: LocalMedia,
        *,
        camera: bool = True,
        started_at: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.client = client
        self.call_id = snapshot.call_id
        self.you = snapshot.you
        self.others: dict[str, PeerInfo] = {}
        self.started_at = clock() if started_at is None else started_at  # ring time
        self.media = media
        self.peers = PeerManager(
            snapshot.ice_servers, media, camera=camera, on_failed=self._failed, clock=clock
        )
        self._restarts: set[asyncio.Task[None]] = set()
        self.update(snapshot)

    def update(self, snapshot: CallSnapshot) -> None:
        """Take the server's latest view of the call (participants, our id, ICE servers)."""
        self.you = snapshot.you
        self.others = {p.peer_id: p for p in snapshot.peers if p.peer_id != snapshot.you}
        if snapshot.ice_servers:
            self.peers.ice_servers = snapshot.ice_servers

    async def offer_to_all(self) -> None:
        """We have just entered (accepted, joined, resumed): offer to every connected peer."""
        for peer_id, info in list(self.others.items()):
            if info.connected:
                await self._offer(peer_id)

    async def resume(self, snapshot: CallSnapshot) -> None:
        """After our own reconnect: the others dropped our old id, so start every link again."""
        await self.peers.close()
        self.update(snapshot)
        await self.offer_to_all()

    async def handle(self, message: ServerMessage) -> None:
        """Apply one relayed or membership message of this call."""
        if getattr(message, "call_id", None) != self.call_id:
            return
        match message:
            case RelayedOffer():
                await self._answer(message.from_, message.sdp)
            case RelayedAnswer():
                await self.peers.apply_answer(message.from_, message.sdp)
            case RelayedCandidate():
                await self.peers.add_candidate(message.from_, message.candidate)
            case PeerJoined():
                self._joined(message.peer)
            case PeerLeft():
                await self._left(message.peer_id, message.reason)
            case PeerDisconnected():
                self._disconnected(message.peer_id, message.grace_s)
            case PeerReconnected():
                await self._reconnected(message.old_peer_id, message.peer)

    def stats(self) -> dict[str, object]:
        """Counters per peer, times measured from the ring."""
        return {"call_id": self.call_id, "peers": self.peers.stats(since=self.started_at)}

    async def close(self) -> None:
        """Close every link and stop our media (hang-up or end of call)."""
        for task in list(self._restarts):
            task.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        await self.peers.close()
        self.media.stop()

    async def _offer(self, peer_id: str) -> None:
        sdp = await self.peers.create_offer(peer_id)
        await self.client.send(Offer(call_id=self.call_id, to=peer_id, sdp=sdp))

    async def _answer(self, peer_id: str, sdp: str) -> None:
        answer = await self.peers.answer_offer(peer_id, sdp)
        await self.client.send(Answer(call_id=self.call_id, to=peer_id, sdp=answer))

    def _joined(self, peer: PeerInfo) -> None:
        # The joiner offers to us (it has just entered); we only wait.
        logger.info("call %s: %s (%s) joined", self.call_id, peer.name, peer.role or peer.kind)
        self.others[peer.peer_id] = peer

    async def _left(self, peer_id: str, reason: str) -> None:
        logger.info("call %s: peer %s left (%s)", self.call_id, peer_id, reason)
        self.others.pop(peer_id, None)
        await self.peers.drop(peer_id)

    def _disconnected(self, peer_id: str, grace_s: int) -> None:
        # Media is peer to peer and may well survive the peer's signalling drop: keep the link.
        logger.info("call %s: peer %s lost signalling (grace %d s)", self.call_id, peer_id, grace_s)
        if (info := self.others.get(peer_id)) is not None:
            self.others[peer_id] = info.model_copy(update={"connected": False})

    async def _reconnected(self, old_peer_id: str, peer: PeerInfo) -> None:
        # The resumed peer offers under its new id; the link to the old id is dead weight.
        logger.info("call %s: peer %s is back as %s", self.call_id, old_peer_id, peer.peer_id)
        self.others.pop(old_peer_id, None)
        self.others[peer.peer_id] = peer
        await self.peers.drop(old_peer_id)

    def _failed(self, peer_id: str) -> None:
        """A link we offered failed: offer again on a fresh connection (our ICE restart)."""
        task = asyncio.create_task(self._restart(peer_id), name=f"restart-{peer_id}")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, peer_id: str) -> None:
        logger.info("call %s: connection to %s failed; restarting", self.call_id, peer_id)
        try:
            sdp = await self.peers.restart(peer_id)
            await self.client.send(Offer(call_id=self.call_id, to=peer_id, sdp=sdp))
        except ConnectionError:
            # Signalling is down too; our resume will offer afresh.
            logger.info("call %s: restart deferred until signalling is back", self.call_id)
