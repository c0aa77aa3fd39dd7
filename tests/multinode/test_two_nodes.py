"""Two server processes behind nginx over one PostgreSQL and one Redis: Karen's tablet on node A,
Anna (nurse) on node B. The node of either dies mid-call (SIGKILL) and the call goes on or ends
cleanly; presence converges; nothing is left open."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from kiosk.caller import StaffCaller
from server.demo import DEMO_PASSWORD
from server.models import Call
from server.signaling.messages import (
    PeerReconnected,
    Presence,
    PresenceEntry,
    PresenceSubscribe,
    ServerMessage,
)
from server.vocabulary import CallState
from tests.databases import transaction
from tests.multinode.conftest import Cluster
from tests.multinode.harness import KioskProcess, Node, State, read_log, tablet_token, tail
from tests.polling import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("loopback_only_ice")]

KAREN, KAREN_ID = 0, "1"  # demo citizen index 0: Karen, Team Nord (Anna's team)
INGER, INGER_ID = 2, "3"  # Inger, Team Nord too: a tablet held open by hand, for presence
WAIT_S = 20.0  # one step on a busy 2-core machine (Python-driven VP8 in three processes)
SETTLE_S = 30.0  # a dead node noticed (heartbeat expiry) and its seats resumed or ended
FRAMES = 15  # "video keeps coming": this many more decoded frames (about a second)


class Nurse(StaffCaller):
    """A staff console's socket: keeps every message and the presence it follows."""

    def __init__(self, server_url: str) -> None:
        super().__init__(server_url)
        self.seen: list[ServerMessage] = []
        self.presence: dict[str, PresenceEntry] = {}

    async def on_message(self, message: ServerMessage) -> None:
        """Record, then behave as any staff caller."""
        self.seen.append(message)
        if isinstance(message, Presence):
            self.presence.update({entry.citizen_id: entry for entry in message.entries})
        await super().on_message(message)

    async def subscribe(self, *citizen_ids: str) -> dict[str, PresenceEntry]:
        """Follow these tablets; the snapshot the node answers with."""
        reply = await self.client.request(PresenceSubscribe(citizen_ids=citizen_ids))
        assert isinstance(reply, Presence), reply
        return {entry.citizen_id: entry for entry in reply.entries}

    def online(self, citizen_id: str) -> bool | None:
        """What the console shows now: online, offline, or None (no entry yet)."""
        entry = self.presence.get(citizen_id)
        return None if entry is None else entry.online

    def reconnected(self) -> list[PeerReconnected]:
        """The peer-reconnected messages seen so far."""
        return [m for m in self.seen if isinstance(m, PeerReconnected)]

    @property
    def peer_id(self) -> str:
        """This socket's current peer id."""
        assert self.client.welcome is not None
        return self.client.welcome.peer_id


@contextlib.asynccontextmanager
async def nurse(cluster: Cluster) -> AsyncIterator[Nurse]:
    """Anna, logged in through nginx (node B) with her signalling socket open."""
    async with Nurse(cluster.staff_url) as anna:
        await anna.login("anna", DEMO_PASSWORD)
        await anna.connect()
        yield anna


@contextlib.asynccontextmanager
async def tablet(cluster: Cluster) -> AsyncIterator[KioskProcess]:
    """Karen's tablet in its own process, online through nginx; stopped cleanly afterwards."""
    kiosk = await KioskProcess.start(
        cluster.tablet_url, tablet_token(KAREN), cluster.workdir / "kiosk.log"
    )
    try:
        await kiosk.until(lambda s: bool(s.get("online")), "never came online", WAIT_S)
        yield kiosk
    finally:
        assert await kiosk.stop() == 0


@contextlib.asynccontextmanager
async def bare_tablet(cluster: Cluster) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """Inger's tablet as a bare socket that never reconnects by itself (presence's witness)."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(cluster.tablet_url + "/ws") as ws,
    ):
        await ws.send_json(
            {"type": "hello", "id": 1, "version": ["1"], "token": tablet_token(INGER)}
        )
        welcome = await ws.receive_json(timeout=WAIT_S)
        assert welcome["type"] == "welcome", welcome

        async def drain() -> None:
            async for _ in ws:  # reading is what answers the server's WebSocket pings
                pass

        reader = asyncio.create_task(drain())
        try:
            yield ws
        finally:
            await ws.close()
            await reader


async def call_with_media(anna: Nurse, kiosk: KioskProcess) -> str:
    """Anna rings Karen, the tablet answers, each side decodes the other's video; the call id."""
    call_id = await anna.ring(KAREN_ID)
    async with asyncio.timeout(WAIT_S):
        call = await anna.wait_call()
        await call.peers.wait_video(1)
    anna_id = anna.peer_id
    await kiosk.until(
        lambda s: s["call_id"] == call_id and kiosk.video_from(anna_id) > 0,
        "decodes no video from Anna",
        WAIT_S,
    )
    return call_id


async def flowing(anna: Nurse, kiosk: KioskProcess, kiosk_id: str) -> None:
    """Video keeps coming both ways on the current links: each end decodes FRAMES more."""
    call = anna.call
    assert call is not None
    await eventually(lambda: kiosk_id in call.peers.links, "Anna has no link to the tablet")

    def at_anna() -> int:
        link = call.peers.links.get(kiosk_id)
        return 0 if link is None else link.stats.video_frames

    anna_id, anna_before, kiosk_before = anna.peer_id, at_anna(), kiosk.video_from(anna.peer_id)
    await eventually(lambda: at_anna() >= anna_before + FRAMES, "Anna's video from the tablet")
    await kiosk.until(
        lambda s: kiosk.video_from(anna_id) >= kiosk_before + FRAMES,
        "the tablet's video from Anna",
        WAIT_S,
    )


def assert_no_errors(node: Node) -> None:
    """The surviving node logged no exception through all this."""
    log = read_log(node.log)
    assert "Traceback" not in log and " ERROR " not in log, tail(node.log)


def link_created(state: State, peer_id: str) -> float | None:
    """When the tablet's current link to a peer was made (None without one)."""
    link = state.get("links", {}).get(peer_id)
    return None if link is None else float(link["created"])


async def call_row(cluster: Cluster, call_id: str) -> Call:
    """The call's row in PostgreSQL."""
    async with transaction(cluster.database_url) as session:
        row = await session.scalar(select(Call).where(Call.public_id == call_id))
    assert row is not None, f"no row for call {call_id}"
    return row


async def redis_mentions(cluster: Cluster, needle: str) -> list[str]:
    """Keys of the test's Redis db whose name or value mentions ``needle`` (a call id)."""
    client = Redis.from_url(cluster.redis_url, decode_responses=True)
    found = []
    try:
        async for key in client.scan_iter(count=500):
            if needle in key or needle in await value_text(client, key):
                found.append(key)
    finally:
        await client.aclose()
    return found


async def value_text(client: Redis, key: str) -> str:
    """A key's value as text, whatever its type."""
    redis: Any = client  # redis-py's annotations ignore decode_responses
    readers = {
        "string": lambda: redis.get(key),
        "hash": lambda: redis.hgetall(key),
        "set": lambda: redis.smembers(key),
        "zset": lambda: redis.zrange(key, 0, -1),
        "list": lambda: redis.lrange(key, 0, -1),
        "stream": lambda: redis.xrange(key),
    }
    reader = readers.get(await redis.type(key))
    return "" if reader is None else repr(await reader())


async def nothing_left_open(cluster: Cluster, call_id: str, reasons: set[str]) -> None:
    """The row ends with one of ``reasons`` and no Redis key holds the call, soon after the
    participants heard the end (the writes may trail the messages a little)."""
    row, left = await call_row(cluster, call_id), [call_id]
    for _ in range(int(WAIT_S / 0.2)):
        row, left = await call_row(cluster, call_id), await redis_mentions(cluster, call_id)
        if row.state is CallState.ENDED and not left:
            break
        await asyncio.sleep(0.2)
    assert row.state is CallState.ENDED, f"call row left {row.state}"
    assert row.end_reason in reasons, row.end_reason
    assert not left, f"Redis still holds call {call_id}: {left}"


async def test_tablet_node_dies_mid_call(cluster: Cluster) -> None:
    """Node A (the tablet's) is killed mid-call: the tablet reconnects through nginx to node B
    and resumes its seat, media flows again both ways, presence on node B converges (a tablet
    still away goes offline, Karen's stays online), and Anna's hang-up ends the call cleanly."""
    async with tablet(cluster) as kiosk, bare_tablet(cluster), nurse(cluster) as anna:
        await eventually(lambda: cluster.a.holds(kiosk.state["peer_id"]), "tablet not on A")
        await eventually(lambda: cluster.b.holds(anna.peer_id), "Anna not on node B")
        shown = await anna.subscribe(KAREN_ID, INGER_ID)  # tablets on A, seen from node B
        assert shown[KAREN_ID].online and shown[INGER_ID].online, shown
        call_id = await call_with_media(anna, kiosk)
        old_kiosk, anna_id = kiosk.state["peer_id"], anna.peer_id
        old_link = link_created(kiosk.state, anna_id)

        cluster.a.kill()
        back = await kiosk.until(
            lambda s: s["online"] and s["peer_id"] != old_kiosk, "did not come back", SETTLE_S
        )
        assert back["resumed"] == call_id, back
        await eventually(lambda: cluster.b.holds(back["peer_id"]), "tablet not on node B")
        new_kiosk = back["peer_id"]
        await eventually(lambda: bool(anna.reconnected()), "Anna never heard of the resume")
        (moved,) = anna.reconnected()
        assert (moved.old_peer_id, moved.peer.peer_id) == (old_kiosk, new_kiosk)

        # Media flows again, on fresh links, both ways.
        await kiosk.until(
            lambda s: link_created(s, anna_id) not in (None, old_link),
            "no fresh link to Anna after the resume",
            WAIT_S,
        )
        await flowing(anna, kiosk, new_kiosk)

        # Presence on node B: Inger's tablet (gone with node A, not back) goes offline once node
        # A is known dead; Karen's tablet, back through node B, is online and in the call.
        await eventually(
            lambda: anna.online(INGER_ID) is False, "Inger never shown offline", SETTLE_S
        )
        await eventually(lambda: anna.online(KAREN_ID) is True, "Karen not shown online")
        shown = await anna.subscribe(KAREN_ID, INGER_ID)
        assert shown[KAREN_ID].online and shown[KAREN_ID].in_call, shown
        assert not shown[INGER_ID].online, shown
        async with bare_tablet(cluster):  # Inger's tablet comes back: through node B
            await eventually(lambda: anna.online(INGER_ID) is True, "Inger not back online")

        await anna.hangup()
        await kiosk.until(lambda s: s["ended"] == "hangup", "never heard the hang-up", WAIT_S)
        assert kiosk.state["call_id"] is None
    await nothing_left_open(cluster, call_id, {"hangup"})
    assert_no_errors(cluster.b)


async def test_caller_node_dies_mid_call(cluster: Cluster) -> None:
    """Node B (Anna's) is killed mid-call: Anna's console reconnects through nginx to node A, and
    within the lease and the grace the call is either resumed and goes on, or ended for both
    (`server_lost`/`connection_lost`) — never left open."""
    async with tablet(cluster) as kiosk, nurse(cluster) as anna:
        call_id = await call_with_media(anna, kiosk)
        old_anna, kiosk_id = anna.peer_id, kiosk.state["peer_id"]

        cluster.b.kill()
        await eventually(
            lambda: anna.client.authenticated.is_set() and anna.peer_id != old_anna,
            "Anna's console never came back",
            SETTLE_S,
        )
        await eventually(lambda: cluster.a.holds(anna.peer_id), "Anna not on node A")
        welcome = anna.client.welcome
        assert welcome is not None
        resumed = welcome.resumed is not None and welcome.resumed.call_id == call_id
        if resumed:
            new_anna = anna.peer_id
            await kiosk.until(
                lambda s: new_anna in s["links"], "no link to the resumed console", SETTLE_S
            )
            await flowing(anna, kiosk, kiosk_id)
            await anna.hangup()
            await kiosk.until(lambda s: s["ended"] == "hangup", "never heard the hang-up", WAIT_S)
        else:
            await kiosk.until(
                lambda s: s["call_id"] is None and s["ended"] == "connection_lost",
                "the call was neither resumed nor ended for the tablet",
                SETTLE_S,
            )
    reasons = {"hangup"} if resumed else {"server_lost", "connection_lost"}
    await nothing_left_open(cluster, call_id, reasons)
    assert_no_errors(cluster.a)
