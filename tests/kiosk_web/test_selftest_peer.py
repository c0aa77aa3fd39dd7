"""The self-test echo peer with a real aiortc tablet stand-in: echo, cap, clean shutdown."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.errors import TooManyRequests
from server.media.selftest import SelfTestPeers


@pytest.mark.usefixtures("loopback_only_ice")
async def test_echo_peer_returns_data_and_is_capped() -> None:
    """A data-channel message comes back; a second test beyond the cap of one is refused."""
    peers = SelfTestPeers(limit=1)
    tablet = RTCPeerConnection()
    try:
        channel = tablet.createDataChannel("echo")
        echoed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_message(message: str) -> None:
            if not echoed.done():
                echoed.set_result(message)

        channel.on("message", on_message)
        channel.on("open", lambda: channel.send("ping:1"))
        await tablet.setLocalDescription(await tablet.createOffer())
        answer = await peers.answer(tablet.localDescription.sdp, [])
        await tablet.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        async with asyncio.timeout(15):
            assert await echoed == "ping:1"
        with pytest.raises(TooManyRequests):
            await peers.answer(tablet.localDescription.sdp, [])
    finally:
        await tablet.close()
        await peers.close()
    assert not peers.peers
