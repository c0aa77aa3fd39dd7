"""A single server (`python -m server serve`, no Redis) is killed mid-call and started again on
the same port and database. Media is peer to peer, so it goes on while the server is away; the
live call lived only in the dead process, so on reconnecting both ends learn it is over
(PROTOCOL.md, "When the server stops or dies": the resume ends in `unknown_call`), the row says
`server_lost`, and a new call rings and carries media at once: nothing is left half-open.
(Several nodes over Redis resume the call instead: tests/multinode/test_two_nodes.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from kiosk.caller import StaffCaller
from server.demo import DEMO_PASSWORD, seed_demo
from server.models import Call
from server.settings import Settings
from server.vocabulary import CallState
from tests.databases import transaction
from tests.multinode import harness
from tests.multinode.harness import KioskProcess, Node, read_log, tablet_token, tail
from tests.polling import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("loopback_only_ice")]

KAREN, KAREN_ID = 0, "1"
WAIT_S = 20.0  # one step on a busy 2-core machine
FRAMES = 15  # "video keeps coming": this many more decoded frames (about a second)
# Back after a restart: the clients' backoff (up to 8-16 s by then) after a start that takes
# 5-30 s on a busy machine.
RECONNECT_S = 45.0


class Server:
    """One `python -m server serve` on a fixed port, which can be killed and started again."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.port = harness.free_port()
        self.workdir = workdir
        self.env = harness.node_env(database_url, "", f"http://127.0.0.1:{self.port}")
        self.env.pop("SCREENVISIT_REDIS_URL", None)  # a single node: its calls live in it
        self.node: Node | None = None
        self.runs = 0

    async def start(self) -> Node:
        """Start (again) and wait until ready."""
        self.runs += 1
        self.node = harness.start_node(f"run{self.runs}", self.port, self.env, self.workdir)
        async with aiohttp.ClientSession() as http:
            await harness.wait_ready(self.node, http)
        return self.node

    @property
    def url(self) -> str:
        """The server's base URL (the same across restarts)."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop whatever still runs."""
        if self.node is not None:
            self.node.stop()


@pytest.fixture
async def server(postgres_only: str, tmp_path: Path) -> AsyncIterator[Server]:
    """The demo on a private PostgreSQL database and one server process on it."""
    await seed_demo(Settings(database_url=postgres_only, secret_key=harness.SECRET))
    running = Server(postgres_only, tmp_path)
    try:
        await running.start()
        yield running
    finally:
        running.stop()
        for name in ("node-run1.log", "node-run2.log", "kiosk.log"):
            print(f"--- {name}\n{tail(tmp_path / name)}")  # shown by pytest only on failure


@contextlib.asynccontextmanager
async def tablet(server: Server) -> AsyncIterator[KioskProcess]:
    """Karen's tablet in its own process; stopped cleanly afterwards."""
    kiosk = await KioskProcess.start(server.url, tablet_token(KAREN), server.workdir / "kiosk.log")
    try:
        await kiosk.until(lambda s: bool(s.get("online")), "never came online", WAIT_S)
        yield kiosk
    finally:
        assert await kiosk.stop() == 0


def peer_id(anna: StaffCaller) -> str:
    """Anna's current peer id."""
    assert anna.client.welcome is not None
    return anna.client.welcome.peer_id


def anna_frames(anna: StaffCaller) -> int:
    """Video frames Anna decoded from the tablet on her current links."""
    call = anna.call
    return 0 if call is None else sum(link.stats.video_frames for link in call.peers.links.values())


async def call_with_media(anna: StaffCaller, kiosk: KioskProcess) -> str:
    """Anna rings Karen, the tablet answers, each side decodes the other's video."""
    call_id = await anna.ring(KAREN_ID)
    async with asyncio.timeout(WAIT_S):
        call = await anna.wait_call()
        await call.peers.wait_video(1)
    anna_id = peer_id(anna)
    await kiosk.until(
        lambda s: s["call_id"] == call_id and kiosk.video_from(anna_id) > 0,
        "decodes no video from Anna",
        WAIT_S,
    )
    return call_id


async def flowing(anna: StaffCaller, kiosk: KioskProcess, anna_id: str) -> None:
    """Video keeps coming both ways: each end decodes FRAMES more."""
    at_anna, at_kiosk = anna_frames(anna), kiosk.video_from(anna_id)
    await eventually(lambda: anna_frames(anna) >= at_anna + FRAMES, "Anna's video stopped")
    await kiosk.until(
        lambda s: kiosk.video_from(anna_id) >= at_kiosk + FRAMES,
        "the tablet's video stopped",
        WAIT_S,
    )


async def test_killed_server_media_goes_on_and_both_ends_learn_the_call_is_over(
    server: Server,
) -> None:
    """SIGKILL mid-call: video keeps flowing both ways while the server is away; restarted on
    the same port, the tablet and Anna reconnect by themselves, both learn the call is over,
    the row says `server_lost`, and a new call carries media straight away."""
    async with tablet(server) as kiosk, StaffCaller(server.url) as anna:
        await anna.login("anna", DEMO_PASSWORD)
        await anna.connect()
        call_id = await call_with_media(anna, kiosk)
        anna_id, kiosk_id = peer_id(anna), kiosk.state["peer_id"]

        assert server.node is not None
        server.node.kill()
        restarted = asyncio.create_task(server.start())  # its start-up takes a few seconds
        await flowing(anna, kiosk, anna_id)  # peer to peer: no server needed meanwhile
        node = await restarted
        await kiosk.until(
            lambda s: s["online"] and s["peer_id"] != kiosk_id and s["ended"] == "connection_lost",
            "the tablet never came back, or kept a call the server no longer knows",
            RECONNECT_S,
        )
        assert kiosk.state["resumed"] is None and kiosk.state["call_id"] is None
        await eventually(
            lambda: anna.client.authenticated.is_set() and peer_id(anna) != anna_id,
            "Anna's console never came back",
            RECONNECT_S,
        )
        await eventually(lambda: anna.ended.is_set(), "Anna still thinks she is in the call")
        assert anna.end_reason == "connection_lost" and anna.call is None
        async with transaction(server.env["SCREENVISIT_DATABASE_URL"]) as session:
            row = await session.scalar(select(Call).where(Call.public_id == call_id))
        assert row is not None and (row.state, row.end_reason) == (CallState.ENDED, "server_lost")

        again = await call_with_media(anna, kiosk)  # no ghost: not busy, media at once
        assert again != call_id
        await anna.hangup()
        await kiosk.until(lambda s: s["ended"] == "hangup", "never heard the hang-up", WAIT_S)
    log = read_log(node.log)
    assert "Traceback" not in log and " ERROR " not in log, tail(node.log)
