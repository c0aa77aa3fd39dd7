"""One RTCPeerConnection per remote participant of a call (mesh), with receive counters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from server.signaling.messages import IceCandidate, IceServer

from .media import LocalMedia

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
FailedCallback = Callable[[str], None]

# After a network cut aiortc's video jitter buffer stays frozen long after audio is back
# (FIELD-NOTES.md: ~20 s after a 10 s cut). Audio silent this long and then back means the
# network was away; video not back this soon after it means the link must be made afresh.
AUDIO_GAP_S = 1.0
VIDEO_BACK_WITHIN_S = 1.0


@dataclass
class PeerStats:
    """What arrived from one remote peer, with monotonic timestamps for benchmarks."""

    created_at: float
    connected_at: float | None = None
    first_video_at: float | None = None
    video_frames: int = 0
    audio_frames: int = 0
    video_size: tuple[int, int] | None = None

    def as_dict(self, since: float | None = None) -> dict[str, object]:
        """JSON-ready counters; times in ms after `since` (default: when the link was made)."""
        origin = self.created_at if since is None else since
        return {
            "connected": self.connected_at is not None,
            "to_connected_ms": _ms(self.connected_at, origin),
            "to_first_video_ms": _ms(self.first_video_at, origin),
            "video_frames": self.video_frames,
            "audio_frames": self.audio_frames,
            "video_size": list(self.video_size) if self.video_size else None,
        }


def _ms(at: float | None, origin: float) -> float | None:
    """Milliseconds from `origin` to `at`, or None if it has not happened."""
    return None if at is None else round((at - origin) * 1000, 1)


def rtc_configuration(ice_servers: Iterable[IceServer]) -> RTCConfiguration:
    """aiortc's configuration from the server's list; never aiortc's default (Google STUN)."""
    servers = [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in ice_servers
    ]
    return RTCConfiguration(iceServers=servers)


def ice_ufrags(sdp: str) -> frozenset[str]:
    """The ICE usernames in an SDP; a new one means the offerer restarted ICE."""
    prefix = "a=ice-ufrag:"
    return frozenset(
        line[len(prefix) :].strip() for line in sdp.splitlines() if line.startswith(prefix)
    )


def dtls_fingerprints(sdp: str) -> frozenset[str]:
    """The DTLS certificate fingerprints in an SDP; a new one means a fresh remote connection."""
    prefix = "a=fingerprint:"
    return frozenset(
        line[len(prefix) :].strip().lower() for line in sdp.splitlines() if line.startswith(prefix)
    )


def to_rtc_candidate(init: IceCandidate) -> RTCIceCandidate | None:
    """A browser's RTCIceCandidateInit as aiortc's candidate; None for an unusable line."""
    line = init.candidate.removeprefix("candidate:")
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError):
        # candidate_from_sdp validates with assert; an empty line is an end-of-generation marker.
        return None
    candidate.sdpMid = init.sdpMid
    candidate.sdpMLineIndex = init.sdpMLineIndex
    return candidate


class PeerLink:
    """The connection to one remote peer: its RTCPeerConnection, receivers and counters."""

    def __init__(
        self,
        peer_id: str,
        pc: RTCPeerConnection,
        offerer: bool,
        clock: Clock,
        progress: asyncio.Event | None = None,
    ) -> None:
        self.peer_id = peer_id
        self.pc = pc
        self.offerer = offerer  # the pair's offerer also sends its renegotiations and restarts
        self.stats = PeerStats(created_at=clock())
        self.connected = asyncio.Event()
        self.first_frame = asyncio.Event()  # the first decoded video frame from this peer
        self.remote_ufrags: frozenset[str] = frozenset()
        self.remote_fingerprints: frozenset[str] = frozenset()
        self.pending: list[IceCandidate | None] = []  # trickled before the remote description
        self._clock = clock
        self._progress = progress  # the manager's "some link got its first frame" signal
        self._receivers: set[asyncio.Task[None]] = set()
        self.on_video_stalled: Callable[[], None] | None = None  # video frozen after a cut
        self._last_audio_at: float | None = None
        self._last_video_at: float | None = None
        self._stall_check: asyncio.TimerHandle | None = None

    def receive(self, track: MediaStreamTrack) -> None:
        """Start counting the frames of a remote track."""
        task = asyncio.create_task(self._consume(track), name=f"recv-{track.kind}")
        self._receivers.add(task)
        task.add_done_callback(self._receivers.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):  # raised by recv() once the pc is closed
            while True:
                frame = await track.recv()
                self._count(track.kind, frame)

    def _count(self, kind: str, frame: object) -> None:
        now = self._clock()
        if kind == "audio":
            self.stats.audio_frames += 1
            back = self._last_audio_at is not None and now - self._last_audio_at >= AUDIO_GAP_S
            self._last_audio_at = now
            if back and self._last_video_at is not None and self._stall_check is None:
                loop = asyncio.get_running_loop()
                self._stall_check = loop.call_later(VIDEO_BACK_WITHIN_S, self._check_video, now)
            return
        self._last_video_at = now
        self.stats.video_frames += 1
        if self.stats.first_video_at is None:
            self.stats.first_video_at = self._clock()
            self.stats.video_size = (getattr(frame, "width", 0), getattr(frame, "height", 0))
            self.first_frame.set()
            if self._progress is not None:
                self._progress.set()

    def _check_video(self, audio_back_at: float) -> None:
        """Audio came back after a cut: if video did not, say so (the manager restarts)."""
        self._stall_check = None
        video_back = self._last_video_at is not None and self._last_video_at >= audio_back_at
        if not video_back and self.on_video_stalled is not None:
            logger.info("peer %s: audio is back after a cut, video is not", self.peer_id)
            self.on_video_stalled()

    def state_changed(self) -> None:
        """Record when the connection first became connected."""
        if self.pc.connectionState == "connected" and self.stats.connected_at is None:
            self.stats.connected_at = self._clock()
            self.connected.set()

    async def close(self) -> None:
        """Close the connection and wait for the receive loops to finish."""
        if self._stall_check is not None:
            self._stall_check.cancel()
        await self.pc.close()
        for task in list(self._receivers):
            task.cancel()
        await asyncio.gather(*self._receivers, return_exceptions=True)


class PeerManager:
    """The mesh of one call: a PeerLink per remote peer id.

    aiortc gathers all its candidates during setLocalDescription, so the SDPs this class
    returns already hold them (non-trickle); trickled candidates from browsers are accepted.
    """

    def __init__(
        self,
        ice_servers: Iterable[IceServer],
        media: LocalMedia,
        *,
        camera: bool = True,
        on_failed: FailedCallback | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ice_servers = tuple(ice_servers)
        self.media = media
        self.camera = camera
        self._on_failed = on_failed
        self._clock = clock
        self._links: dict[str, PeerLink] = {}
        self._progress = asyncio.Event()

    @property
    def links(self) -> Mapping[str, PeerLink]:
        """The current links by remote peer id."""
        return self._links

    def stats(self, since: float | None = None) -> dict[str, dict[str, object]]:
        """Per-peer counters, JSON-ready."""
        return {pid: link.stats.as_dict(since) for pid, link in self._links.items()}

    def video_peers(self) -> int:
        """How many current links have delivered a decoded video frame."""
        return sum(link.first_frame.is_set() for link in self._links.values())

    async def wait_video(self, peers: int = 1) -> None:
        """Wait until `peers` links have each decoded a video frame (wrap in asyncio.timeout)."""
        while self.video_peers() < peers:
            self._progress.clear()
            await self._progress.wait()

    async def create_offer(self, peer_id: str) -> str:
        """Make (or renegotiate) the link to `peer_id` as its offerer; the offer SDP."""
        link = self._links.get(peer_id) or self._new_link(peer_id, offerer=True)
        if not link.pc.getTransceivers():
            self._add_local_tracks(link)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        return str(link.pc.localDescription.sdp)

    async def apply_answer(self, peer_id: str, sdp: str) -> None:
        """Apply the answer to our offer."""
        link = self._links.get(peer_id)
        if link is None or link.pc.signalingState != "have-local-offer":
            logger.warning("answer from %s without a pending offer; ignored", peer_id)
            return
        await self._set_remote(link, RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer_offer(self, peer_id: str, sdp: str) -> str:
        """Apply a remote offer (new link, renegotiation or ICE restart); the answer SDP."""
        link = self._links.get(peer_id)
        if link is not None and self._needs_new_link(link, sdp):
            # aiortc cannot restart ICE in place: a fresh connection answers the restart.
            await self.drop(peer_id)
            link = None
        fresh = link is None
        link = link or self._new_link(peer_id, offerer=False)
        await self._set_remote(link, RTCSessionDescription(sdp=sdp, type="offer"))
        if fresh:
            # After the remote description, so addTrack reuses the transceivers it created.
            self._add_local_tracks(link)
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        return str(link.pc.localDescription.sdp)

    async def add_candidate(self, peer_id: str, candidate: IceCandidate | None) -> None:
        """Add a trickled candidate (None: end of candidates); queued until the remote SDP."""
        link = self._links.get(peer_id)
        if link is None:
            logger.debug("candidate for unknown peer %s dropped", peer_id)
            return
        if link.pc.remoteDescription is None:
            link.pending.append(candidate)
            return
        await self._add_candidate(link, candidate)

    async def restart(self, peer_id: str) -> str:
        """Replace the link to `peer_id` with a fresh one and offer again (our ICE restart)."""
        await self.drop(peer_id)
        return await self.create_offer(peer_id)

    async def drop(self, peer_id: str) -> None:
        """Close and forget the link to `peer_id`, if any."""
        link = self._links.pop(peer_id, None)
        if link is not None:
            await link.close()

    async def close(self) -> None:
        """Close every link (hang-up)."""
        for peer_id in list(self._links):
            await self.drop(peer_id)

    def _new_link(self, peer_id: str, *, offerer: bool) -> PeerLink:
        pc = RTCPeerConnection(configuration=rtc_configuration(self.ice_servers))
        link = PeerLink(peer_id, pc, offerer, self._clock, self._progress)
        pc.on("track", link.receive)
        pc.on("connectionstatechange", lambda: self._state_changed(link))
        link.on_video_stalled = lambda: self._restart_if_ours(link)
        self._links[peer_id] = link
        return link

    def _add_local_tracks(self, link: PeerLink) -> None:
        link.pc.addTrack(self.media.audio_for_peer())
        if self.camera:
            link.pc.addTrack(self.media.video_for_peer())
        elif link.offerer:
            # Camera hidden (bath guidance): still receive the caller's video.
            link.pc.addTransceiver("video", direction="recvonly")

    def _needs_new_link(self, link: PeerLink, sdp: str) -> bool:
        if link.pc.connectionState in ("failed", "closed"):
            return True
        # PROTOCOL.md, ICE restart: new ICE credentials or a new DTLS certificate (an aiortc
        # offerer replaced its connection) are answered on a fresh connection.
        if link.remote_fingerprints and dtls_fingerprints(sdp) != link.remote_fingerprints:
            return True
        return bool(link.remote_ufrags) and ice_ufrags(sdp) != link.remote_ufrags

    async def _set_remote(self, link: PeerLink, description: RTCSessionDescription) -> None:
        await link.pc.setRemoteDescription(description)
        link.remote_ufrags = ice_ufrags(description.sdp)
        link.remote_fingerprints = dtls_fingerprints(description.sdp)
        pending, link.pending = link.pending, []
        for candidate in pending:
            await self._add_candidate(link, candidate)

    async def _add_candidate(self, link: PeerLink, candidate: IceCandidate | None) -> None:
        if candidate is None:
            await link.pc.addIceCandidate(None)
            return
        converted = to_rtc_candidate(candidate)
        if converted is not None and (converted.sdpMid or converted.sdpMLineIndex is not None):
            await link.pc.addIceCandidate(converted)

    def _state_changed(self, link: PeerLink) -> None:
        link.state_changed()
        state = link.pc.connectionState
        logger.info("peer %s connection %s", link.peer_id, state)
        if state == "failed":
            self._restart_if_ours(link)

    def _restart_if_ours(self, link: PeerLink) -> None:
        """Ask for a fresh connection (the session's ICE restart) if we offer on this link."""
        # A replaced link's late "failed" must not restart its successor.
        current = self._links.get(link.peer_id) is link
        if link.offerer and current and self._on_failed is not None:
            self._on_failed(link.peer_id)
