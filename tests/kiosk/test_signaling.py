"""SignalingClient against a hand-written fake server: hello, ping, reconnect with resume."""

from __future__ import annotations

import asyncio
import random

import aiohttp
from aiohttp import web

from kiosk.backoff import Backoff
from kiosk.signaling import SignalingClient
from server.signaling.messages import (
    CallSnapshot,
    Hello,
    Identity,
    Pong,
    ServerMessage,
    Welcome,
    client_message,
)
from tests.conftest import ServerFactory

RESUME_TOKEN = "r" * 24


def welcome(ref: int | None, resumed: CallSnapshot | None = None) -> Welcome:
    """A kiosk's welcome with a 0.05 s heartbeat so the client pings at once."""
    return Welcome(
        ref=ref,
        version="1",
        peer_id="k1",
        identity=Identity(kind="kiosk", id="kiosk-1", name="Tablet", citizen_id="cit-1"),
        heartbeat_s=0.05,
        ring_timeout_s=45,
        resume_grace_s=30,
        resume_token=RESUME_TOKEN,
        resumed=resumed,
    )


def snapshot() -> CallSnapshot:
    """A ringing call c1 between the kiosk and one nurse."""
    return CallSnapshot(
        call_id="c1", citizen_id="cit-1", state="ringing", you="k1", max_participants=6
    )


class FakeServer:
    """Records every hello; the first connection gets into a call and is then cut off."""

    def __init__(self) -> None:
        self.hellos: list[Hello] = []
        self.origins: list[str | None] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Answer hello and ping; drop the first socket with 1011 after a pong."""
        self.origins.append(request.headers.get("Origin"))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for frame in ws:
            message = client_message.validate_json(frame.data)
            if isinstance(message, Hello):
                await self._hello(ws, message)
            else:
                await ws.send_str(Pong(ref=message.id).model_dump_json())
                if len(self.hellos) == 1:
                    await ws.close(code=1011)
        return ws

    async def _hello(self, ws: web.WebSocketResponse, hello: Hello) -> None:
        self.hellos.append(hello)
        resumed = snapshot() if hello.resume is not None else None
        await ws.send_str(welcome(hello.id, resumed).model_dump_json())
        if resumed is None:
            await ws.send_str(snapshot().model_dump_json())


async def test_signaling_reconnects_and_resumes_the_call(aiohttp_server: ServerFactory) -> None:
    """After a 1011 the client reconnects, presents its resume token and measures the RTT."""
    fake = FakeServer()
    app = web.Application()
    app.router.add_get("/ws", fake.handle)
    server = await aiohttp_server(app)
    received: list[ServerMessage] = []
    async with aiohttp.ClientSession() as http:
        client = SignalingClient(
            http,
            str(server.make_url("/ws")),
            token="t" * 20,
            backoff=Backoff(base_s=0.01, cap_s=0.02, rng=random.Random(0)),
        )

        async def handler(message: ServerMessage) -> None:
            received.append(message)
            if isinstance(message, Welcome) and message.resumed is not None:
                await client.stop()

        async with asyncio.timeout(4):
            assert await client.run(handler) is None
    first, second = fake.hellos
    assert (first.token, first.resume) == ("t" * 20, None)
    assert second.resume is not None
    assert (second.resume.call_id, second.resume.resume_token) == ("c1", RESUME_TOKEN)
    assert client.rtt_s is not None and client.rtt_s < 1.0
    assert fake.origins == [None, None]
    assert [m.type for m in received] == ["welcome", "call-state", "welcome"]
