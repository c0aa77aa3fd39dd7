"""PostgreSQL goes away mid-call (a TCP proxy between the server and the database is cut) and
comes back: the server says it is not ready and answers 503 `unavailable`, the call goes on
peer to peer with its signalling, a hang-up in the meantime is recorded when the database
returns, and everything is ready again without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import make_url, select

from kiosk.agent import AgentOptions, KioskAgent
from kiosk.caller import StaffCaller
from server.app import create_app
from server.demo import DEMO_PASSWORD, demo_kiosk_token, seed_demo
from server.models import Call
from server.settings import Settings
from server.signaling.messages import DeviceState, Offer, PeerState, ServerMessage
from server.vocabulary import CallState
from tests.conftest import ServerFactory
from tests.databases import transaction
from tests.faults.tcp_proxy import TcpProxy
from tests.kiosk_web.conftest import add_visit_now
from tests.polling import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("loopback_only_ice")]

KAREN, INGER = 0, 2  # demo citizens (index): Karen (Anna's team), Inger
WAIT_S = 20.0  # one step on a busy 2-core machine (two aiortc peers in this process)
FRAMES = 15  # "video keeps coming": this many more decoded frames (about a second)
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Nurse(StaffCaller):
    """Anna's console socket, keeping every message it hears."""

    def __init__(self, server_url: str) -> None:
        super().__init__(server_url)
        self.seen: list[ServerMessage] = []

    async def on_message(self, message: ServerMessage) -> None:
        """Record, then behave as any staff caller."""
        self.seen.append(message)
        await super().on_message(message)


@dataclasses.dataclass
class Setup:
    """The server (its database behind the proxy), the proxy and the direct database URL."""

    server: TestServer
    proxy: TcpProxy
    settings: Settings
    direct_url: str

    def url(self, path: str) -> str:
        """An absolute URL on the server."""
        return str(self.server.make_url(path))


@pytest.fixture
async def setup(postgres_only: str, aiohttp_server: ServerFactory) -> AsyncIterator[Setup]:
    """The demo in a private PostgreSQL database, reached by the server through a proxy."""
    direct = Settings(database_url=postgres_only, secret_key="faults-secret")
    await seed_demo(direct)
    upstream = make_url(postgres_only)
    proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
    await proxy.start()
    proxied = upstream.set(host="127.0.0.1", port=proxy.port)
    settings = dataclasses.replace(
        direct,
        database_url=proxied.render_as_string(hide_password=False),
        scheduler_enabled=False,
        db_pool_timeout_s=2.0,
        call_lease_s=3.0,  # the lease loop (which also retries lost writes) runs every second
    )
    try:
        server = await aiohttp_server(create_app(settings))
        yield Setup(server, proxy, settings, postgres_only)
    finally:
        await proxy.close()


@contextlib.asynccontextmanager
async def tablet(setup: Setup, index: int) -> AsyncIterator[KioskAgent]:
    """A headless tablet (the kiosk agent) online and answering every ring at once."""
    options = AgentOptions(answer="always", answer_delay_s=0.0)
    async with aiohttp.ClientSession() as http:
        token = demo_kiosk_token(setup.settings, index)
        agent = KioskAgent(http, setup.url("/"), token, options)
        runner = asyncio.create_task(agent.run())
        try:
            async with asyncio.timeout(WAIT_S):
                await agent.client.authenticated.wait()
            yield agent
        finally:
            await agent.stop()
            await runner


def frames_at(participant: StaffCaller | KioskAgent, peer_id: str) -> int:
    """Video frames decoded from one peer on the current link."""
    call = participant.call
    link = call.peers.links.get(peer_id) if call is not None else None
    return 0 if link is None else link.stats.video_frames


async def flowing(anna: Nurse, kiosk: KioskAgent) -> None:
    """Video keeps coming both ways: each end decodes FRAMES more."""
    anna_id, kiosk_id = peer_id(anna), peer_id(kiosk)
    at_anna, at_kiosk = frames_at(anna, kiosk_id), frames_at(kiosk, anna_id)
    await eventually(lambda: frames_at(anna, kiosk_id) >= at_anna + FRAMES, "Anna's video")
    await eventually(lambda: frames_at(kiosk, anna_id) >= at_kiosk + FRAMES, "tablet's video")


def peer_id(participant: StaffCaller | KioskAgent) -> str:
    """The socket's current peer id."""
    welcome = participant.client.welcome
    assert welcome is not None
    return welcome.peer_id


async def call_row(setup: Setup, call_id: str) -> Call:
    """The call's row, read directly (not through the proxy)."""
    async with transaction(setup.direct_url) as session:
        row = await session.scalar(select(Call).where(Call.public_id == call_id))
    assert row is not None, f"no row for call {call_id}"
    return row


async def unavailable(http: aiohttp.ClientSession, url: str, *, json: bool) -> None:
    """The answer is a clear 503 with the stable code, never a 500."""
    headers = {"Accept": "application/json" if json else "text/html"}
    async with http.get(url, headers=headers) as response:
        assert response.status == 503, (url, response.status, await response.text())
        assert "Retry-After" in response.headers
        if json:
            body = await response.json()
            assert body["error"]["code"] == "unavailable", body
        else:
            assert "text/html" in response.headers["Content-Type"]


async def readyz(http: aiohttp.ClientSession, setup: Setup) -> tuple[int, dict[str, object]]:
    """The readiness answer: status and body."""
    async with http.get(setup.url("/readyz")) as response:
        return response.status, await response.json()


async def hello_refused(setup: Setup, index: int) -> tuple[str, int | None]:
    """A tablet's handshake: the error code it gets and the close code."""
    token = demo_kiosk_token(setup.settings, index)
    async with aiohttp.ClientSession() as http, http.ws_connect(setup.url("/ws")) as ws:
        await ws.send_json({"type": "hello", "id": 1, "version": ["1"], "token": token})
        reply = await ws.receive_json(timeout=WAIT_S)
        closing = await ws.receive(timeout=WAIT_S)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        return str(reply.get("code", reply["type"])), ws.close_code


async def wait_row(setup: Setup, call_id: str, state: CallState) -> Call:
    """The call's row once it is in ``state`` (writes may trail the messages a little)."""
    for _ in range(int(WAIT_S / 0.2)):
        with contextlib.suppress(AssertionError):
            row = await call_row(setup, call_id)
            if row.state is state:
                return row
        await asyncio.sleep(0.2)
    raise AssertionError(f"call {call_id} never {state}")


async def ready_again(http: aiohttp.ClientSession, setup: Setup) -> None:
    """/readyz answers 200 with the database check true, within WAIT_S."""
    for _ in range(int(WAIT_S / 0.2)):
        status, body = await readyz(http, setup)
        if status == 200:
            assert body["checks"] == {"database": True}, body
            return
        await asyncio.sleep(0.2)
    raise AssertionError("not ready again after the database came back")


async def log_in(http: aiohttp.ClientSession, setup: Setup) -> str:
    """Anna's browser-like session; the CSRF token of her start page."""
    await StaffCaller(setup.url("/"), http=http).login("anna", DEMO_PASSWORD)
    async with http.get(setup.url("/")) as page:
        match = _CSRF_META.search(await page.text())
    assert match, "start page has no csrf-token meta"
    return match.group(1)


def assert_nothing_above_warning(caplog: pytest.LogCaptureFixture) -> None:
    """No error and no traceback-carrying record above WARNING in the server's log."""
    loud = [r for r in caplog.records if r.levelno > logging.WARNING]
    assert not loud, [f"{r.name}: {r.getMessage()}" for r in loud]


async def test_call_outlives_the_database_and_its_end_is_recorded_later(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """Mid-call the database goes away: /readyz 503 (database false); the API and pages answer
    503 `unavailable`; a new tablet's hello gets `try_again` and 1013; the call's signalling
    (device state, a fresh offer/answer) and media go on; the hang-up made meanwhile is
    recorded once the database is back, the visit's outcome can be recorded, and /readyz is 200
    again — with nothing logged above WARNING."""
    caplog.set_level(logging.WARNING)
    visit_id = await add_visit_now(
        dataclasses.replace(setup.settings, database_url=setup.direct_url), 1
    )
    async with (
        tablet(setup, KAREN) as kiosk,
        Nurse(setup.url("/")) as anna,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        await anna.login("anna", DEMO_PASSWORD)
        await anna.connect()
        call_id = await anna.ring("1", str(visit_id))
        async with asyncio.timeout(WAIT_S):
            await anna.wait_call()
        await eventually(lambda: kiosk.call is not None, "the tablet never entered the call")
        await flowing(anna, kiosk)
        await wait_row(setup, call_id, CallState.ACTIVE)
        csrf = await log_in(http, setup)

        await setup.proxy.cut()
        status, body = await readyz(http, setup)
        assert status == 503 and body["checks"] == {"database": False}, body
        await unavailable(http, setup.url("/api/citizens"), json=True)
        await unavailable(http, setup.url("/"), json=False)
        assert await hello_refused(setup, INGER) == ("try_again", 1013)

        # The call goes on: signalling relays (device state, a fresh offer and its answer)
        # and media flows on the new link.
        await kiosk.client.send(DeviceState(sound=True, camera=True, microphone=False))
        await eventually(
            lambda: any(isinstance(m, PeerState) and not m.microphone for m in anna.seen),
            "the tablet's device state never reached Anna",
        )
        assert kiosk.call is not None
        anna_id = peer_id(anna)
        before = kiosk.call.peers.links[anna_id].stats.created_at
        sdp = await kiosk.call.peers.restart(anna_id)
        await kiosk.client.send(Offer(call_id=call_id, to=anna_id, sdp=sdp))
        await eventually(
            lambda: (
                kiosk.call is not None
                and kiosk.call.peers.links[anna_id].stats.created_at != before
                and frames_at(kiosk, anna_id) > 0
            ),
            "no media on the renegotiated link",
        )
        await flowing(anna, kiosk)

        await anna.hangup()
        await eventually(lambda: kiosk.ended.is_set(), "the tablet never heard the hang-up")
        assert kiosk.end_reason == "hangup"

        await setup.proxy.restore()
        await ready_again(http, setup)
        row = await wait_row(setup, call_id, CallState.ENDED)
        assert row.end_reason == "hangup", row.end_reason
        outcome = {"kind": "completed", "note": "Set på skærm trods nedbrud"}
        async with http.post(
            setup.url(f"/api/visits/{visit_id}/outcome"),
            json=outcome,
            headers={"X-CSRF-Token": csrf},
        ) as response:
            assert response.status in (200, 201), await response.text()
    assert_nothing_above_warning(caplog)
