"""Echo peers for the tablet self-test: media and data come back the way they arrived.

The tablet offers (non-trickle: all candidates in the SDP), we answer with aiortc, send every
received track straight back and echo every data-channel message, so the tablet measures
round-trip time and loss of a real media path (through TURN when configured). Peers are capped,
live at most ``MAX_TEST_S`` and are all closed on shutdown (``selftest_ctx``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from ..errors import AppError, TooManyRequests
from ..keys import settings_key
from ..translatable import N_
from ..turn import IceServerDict

logger = logging.getLogger(__name__)
MAX_TEST_S = 30.0


class SelfTestFailed(AppError):
    """The offer could not be answered (bad SDP, no common codec)."""

    status = 400
    code = "selftest_offer_invalid"
    default_message = N_("Selvtesten kunne ikke besvares.")


class SelfTestPeers:
    """The live echo peers, at most ``limit`` at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.peers: set[RTCPeerConnection] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    async def answer(self, sdp: str, ice: list[IceServerDict]) -> str:
        """Answer a tablet's offer with an echoing peer; TooManyRequests when full."""
        if "\nm=" not in sdp:  # aiortc answers an offer without media sections happily
            raise SelfTestFailed("The offer has no media.")
        if len(self.peers) >= self.limit:
            raise TooManyRequests("Too many self-tests right now.", retry_after=5)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[_ice(s) for s in ice]))
        self.peers.add(pc)
        self._expire_later(pc)
        _echo(pc)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, RuntimeError) as exc:
            logger.info("self-test offer refused: %s", type(exc).__name__)
            await self.discard(pc)
            raise SelfTestFailed() from None
        return str(pc.localDescription.sdp)

    async def discard(self, pc: RTCPeerConnection) -> None:
        """Close one peer and forget it."""
        self.peers.discard(pc)
        await pc.close()

    def _expire_later(self, pc: RTCPeerConnection) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def expire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            if pc in self.peers:
                task = loop.create_task(self.discard(pc))
                task.add_done_callback(lambda t: None)

        handle = loop.call_later(MAX_TEST_S, expire)
        self._timers.add(handle)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and pc in self.peers:
                await self.discard(pc)

    async def close(self) -> None:
        """Close every peer (application shutdown)."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        peers = list(self.peers)
        self.peers.clear()
        await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)


def _ice(server: IceServerDict) -> RTCIceServer:
    return RTCIceServer(
        urls=list(server["urls"]),
        username=server.get("username"),
        credential=server.get("credential"),
    )


def _echo(pc: RTCPeerConnection) -> None:
    """Send every received track back and echo every data-channel message."""

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        pc.addTrack(track)

    @pc.on("datachannel")
    def on_datachannel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            channel.send(message)


selftest_key = web.AppKey("selftest_key", SelfTestPeers)


async def selftest_ctx(app: web.Application) -> AsyncIterator[None]:
    """Own the echo peers for the application's lifetime."""
    peers = SelfTestPeers(app[settings_key].selftest_max_concurrent)
    app[selftest_key] = peers
    yield
    await peers.close()
