"""Two nodes over Redis in one test process: presence, rings, relay and device states cross
nodes; a node that stops heartbeating is swept by the other (its tablets go offline, its calls'
seats wait for their grace). The subprocess test with nginx and SIGKILL is tests/multinode/."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from server.app import create_app
from server.demo import demo_kiosk_token
from server.rooms.book import PeerProfile
from server.rooms.redis_book import RedisBook
from server.settings import Settings
from server.vocabulary import PeerKind
from tests import databases
from tests.conftest import Client
from tests.console.conftest import csrf
from tests.faults.tcp_proxy import TcpProxy
from tests.kiosk_web.test_enrolment_api import staff_csrf
from tests.meetings import seed
from tests.signaling.wsclient import Sock, kiosk_socket, open_socket, staff_socket

pytestmark = pytest.mark.postgres
Nodes = Callable[[int], Awaitable[Client]]  # a new client of node 0 (A) or node 1 (B)
CLUSTER_REDIS = "redis://127.0.0.1:6379/9"  # this module's own database, flushed per test


@pytest.fixture
def db_url(postgres_only: str) -> str:
    """Several nodes share PostgreSQL (SQLite is for one process)."""
    return postgres_only


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """The cluster's Redis database, empty before and after."""
    client = Redis.from_url(CLUSTER_REDIS, decode_responses=True)
    if not await databases.redis_reachable(CLUSTER_REDIS):
        databases.missing_service("Redis at 127.0.0.1:6379")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def node_settings(demo: Settings, redis: Redis) -> Settings:
    """Every node's settings: one database, one Redis, quick heartbeats."""
    return dataclasses.replace(
        demo,
        redis_url=CLUSTER_REDIS,
        node_heartbeat_s=0.3,
        node_expiry_s=1.0,
        reconnect_grace_s=5,
        ring_timeout_s=10,
    )


@pytest.fixture
async def nodes(node_settings: Settings, aiohttp_server, aiohttp_client) -> Nodes:  # type: ignore[no-untyped-def]
    """Two nodes and a factory of clients of either (the database outlives them: first)."""
    servers: list[TestServer] = [await aiohttp_server(create_app(node_settings)) for _ in range(2)]

    async def client_of(index: int) -> Client:
        client: Client = await aiohttp_client(servers[index])
        return client

    return client_of


async def subscribed(sock: Sock, citizen_id: str) -> dict[str, object]:
    """Follow one citizen's presence; the first entry."""
    await sock.send(type="presence-subscribe", id=2, citizen_ids=[citizen_id])
    reply = await sock.expect("presence")
    entry: dict[str, object] = reply["entries"][0]
    return entry


async def presence_until(sock: Sock, online: bool, wait_s: float = 8.0) -> None:
    """Read presence updates until the citizen is (or is no longer) online."""
    async with asyncio.timeout(wait_s):
        while True:
            data = await sock.next(wait_s)
            if data["type"] == "presence" and data["entries"][0]["online"] is online:
                return


async def test_a_ring_and_its_signalling_cross_nodes(nodes: Nodes, node_settings: Settings) -> None:
    """Kiosk on node A, nurse on node B: presence, ring, answer, relay, device state, hang-up."""
    kiosk = await kiosk_socket(await nodes(0), node_settings, 0)
    nurse = await staff_socket(await nodes(1), "anna")
    citizen_id = str(kiosk.welcome["identity"]["citizen_id"])
    assert (await subscribed(nurse, citizen_id))["online"] is True
    await nurse.send(type="ring", id=3, citizen_id=citizen_id)
    call = await nurse.expect("call-state")
    ring = await kiosk.expect("ring")
    assert ring["call_id"] == call["call_id"] and ring["caller"]["name"]
    call_id = ring["call_id"]
    await kiosk.send(type="accept", id=4, call_id=call_id)
    assert (await kiosk.expect("call-state"))["state"] == "active"
    assert (await nurse.expect("call-state"))["state"] == "active"
    sdp = "v=0\r\n" + "a=x\r\n" * 200
    await nurse.send(type="offer", id=5, call_id=call_id, to=kiosk.peer_id, sdp=sdp)
    offer = await kiosk.expect("offer")
    assert offer["from"] == nurse.peer_id and offer["sdp"] == sdp
    await kiosk.send(type="answer", id=6, call_id=call_id, to=nurse.peer_id, sdp="v=0\r\n")
    assert (await nurse.expect("answer"))["from"] == kiosk.peer_id
    await kiosk.send(type="device-state", sound=True, camera=False, microphone=True)
    state = await nurse.expect("peer-state")
    assert state["peer_id"] == kiosk.peer_id and state["camera"] is False
    await nurse.send(type="hangup", id=7, call_id=call_id)
    await kiosk.expect("call-ended")


async def test_a_tablet_replaced_on_another_node_closes_there(
    nodes: Nodes, node_settings: Settings
) -> None:
    """The same tablet connecting again through the other node closes its older socket."""
    older = await kiosk_socket(await nodes(0), node_settings, 0)
    await kiosk_socket(await nodes(1), node_settings, 0)
    assert await older.closed_with() == 4000 or older.ws.close_code is not None


async def test_a_dead_node_is_swept(nodes: Nodes, node_settings: Settings, redis: Redis) -> None:
    """A node that stops heartbeating is swept by a live one: its tablet goes offline for the
    nurses who follow it, and the node leaves the cluster's list."""
    nurse = await staff_socket(await nodes(1), "anna")
    token = demo_kiosk_token(node_settings, 0)
    kiosk = await open_socket(await nodes(0), {"token": token})
    citizen_id = str(kiosk.welcome["identity"]["citizen_id"])
    assert (await subscribed(nurse, citizen_id))["online"] is True
    # A third "node" that registered, holds the tablet now, and dies without a word.
    ghost = RedisBook(redis, "ghost:1:x", node_settings.max_call_participants)
    profile = PeerProfile(
        PeerKind.KIOSK, "g", "Ghost tablet", "citizen", "1", citizen_id=citizen_id
    )
    await redis.sadd("sv:nodes", ghost.node)
    assert await ghost.connect("ghost-peer", profile, "tok") == kiosk.peer_id
    await redis.delete(f"sv:node:{ghost.node}")  # never heartbeats: already expired
    await presence_until(nurse, online=False)
    async with asyncio.timeout(5):  # the sweep ends by taking the node off the list
        while await redis.sismember("sv:nodes", ghost.node):  # noqa: ASYNC110 (Redis state)
            await asyncio.sleep(0.05)
    assert await redis.get(f"sv:kiosk:{citizen_id}") is None


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    """A way to Redis that the test can cut (Redis itself serves the other tests)."""
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    yield proxy
    await proxy.close()


def behind(proxy: TcpProxy, settings: Settings) -> Settings:
    """A node's settings that reach the cluster's Redis database through the proxy."""
    db = CLUSTER_REDIS.rsplit("/", 1)[1]
    return dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{proxy.port}/{db}")


async def until(check: Callable[[], Awaitable[object]], wait_s: float = 10.0) -> None:
    """Poll shared state until ``check`` holds (Redis has no notifications to wait on)."""
    async with asyncio.timeout(wait_s):
        while not await check():  # noqa: ASYNC110 (Redis state)
            await asyncio.sleep(0.05)


async def ring_and_answer(nurse: Sock, kiosk: Sock, citizen_id: str) -> str:
    """A call from the nurse to the tablet, answered; its id."""
    await nurse.send(type="ring", id=3, citizen_id=citizen_id)
    assert (await nurse.expect("call-state"))["state"] == "ringing"
    call_id = str((await kiosk.expect("ring"))["call_id"])
    await kiosk.send(type="accept", id=4, call_id=call_id)
    assert (await kiosk.expect("call-state"))["state"] == "active"
    assert (await nurse.expect("call-state"))["state"] == "active"
    return call_id


async def relayed(sender: Sock, receiver: Sock, call_id: str) -> None:
    """An offer gets through from one seat to the other."""
    await sender.send(type="offer", id=9, call_id=call_id, to=receiver.peer_id, sdp="v=0\r\n")
    assert (await receiver.expect("offer"))["from"] == sender.peer_id


async def test_a_node_without_redis_serves_its_own_sockets(  # type: ignore[no-untyped-def]
    node_settings: Settings, redis_proxy: TcpProxy, redis: Redis, aiohttp_client
) -> None:
    """Redis away from the start: the node welcomes its tablets and nurses anyway, shows them
    to each other and lets them call; when Redis comes, the node registers them there."""
    await redis_proxy.cut()
    client: Client = await aiohttp_client(create_app(behind(redis_proxy, node_settings)))
    kiosk = await kiosk_socket(client, node_settings, 0)
    citizen_id = str(kiosk.welcome["identity"]["citizen_id"])
    nurse = await staff_socket(await aiohttp_client(client.server), "anna")
    assert (await subscribed(nurse, citizen_id))["online"] is True
    call_id = await ring_and_answer(nurse, kiosk, citizen_id)
    await relayed(nurse, kiosk, call_id)
    await redis_proxy.restore()
    await until(lambda: redis.exists(f"sv:kiosk:{citizen_id}"))
    assert await redis.get(f"sv:kiosk:{citizen_id}") == kiosk.peer_id
    assert await redis.hget("sv:callof:citizen", citizen_id) == call_id
    await nurse.send(type="hangup", id=7, call_id=call_id)
    await kiosk.expect("call-ended")
    await until(lambda: _none(redis.hget("sv:callof:citizen", citizen_id)))


async def _none(pending: Awaitable[object]) -> bool:
    return await pending is None


async def test_a_call_goes_on_through_a_redis_outage_and_the_node_rejoins(  # type: ignore[no-untyped-def]
    node_settings: Settings, redis_proxy: TcpProxy, redis: Redis, aiohttp_server, aiohttp_client
) -> None:
    """Node A loses Redis mid-call (node B keeps it): the call on A relays and hangs up as
    before, a tablet connecting to A meanwhile is welcomed, not sent away; when Redis returns,
    A writes back its sockets and calls, and a nurse on B reaches that new tablet on A."""
    node_a = await aiohttp_server(create_app(behind(redis_proxy, node_settings)))
    node_b = await aiohttp_server(create_app(node_settings))
    kiosk = await kiosk_socket(await aiohttp_client(node_a), node_settings, 0)
    citizen_id = str(kiosk.welcome["identity"]["citizen_id"])
    nurse = await staff_socket(await aiohttp_client(node_a), "anna")
    call_id = await ring_and_answer(nurse, kiosk, citizen_id)
    await redis_proxy.cut()
    await relayed(kiosk, nurse, call_id)
    await kiosk.send(type="device-state", sound=True, camera=False, microphone=True)
    assert (await nurse.expect("peer-state"))["camera"] is False
    late = await kiosk_socket(await aiohttp_client(node_a), node_settings, 2)  # Team Nord too
    late_citizen = str(late.welcome["identity"]["citizen_id"])
    assert (await subscribed(nurse, late_citizen))["online"] is True
    await redis_proxy.restore()
    await until(lambda: redis.exists(f"sv:kiosk:{late_citizen}"))
    assert await redis.hget("sv:callof:citizen", citizen_id) == call_id
    colleague = await staff_socket(await aiohttp_client(node_b), "carla")  # Anna is busy
    assert (await subscribed(colleague, late_citizen))["online"] is True
    await colleague.send(type="ring", id=3, citizen_id=late_citizen)
    assert (await late.expect("ring"))["caller"]["name"]
    await nurse.send(type="hangup", id=7, call_id=call_id)
    await kiosk.expect("call-ended")


async def test_a_guest_on_one_node_is_let_in_by_a_host_on_another(
    nodes: Nodes, node_settings: Settings
) -> None:
    """The lobby is shared: Ida knocks on node A, Anna admits her from node B, then removes
    her (the close reaches node A)."""
    visit = await seed.meeting(node_settings)
    host_client = await nodes(1)
    host = await staff_socket(host_client, "anna")
    response = await host_client.post(
        f"/api/visits/{visit}/invites",
        json={"kind": "guest", "name": "Gæst 1"},
        headers=await csrf(host_client),
    )
    token = (await response.json())["url"].rsplit("/", 1)[1]
    kiosk = await kiosk_socket(await nodes(0), node_settings, 0)
    await host.send(type="ring", id=5, citizen_id="1", visit_id=str(visit))
    call_id = (await host.expect("call-state"))["call_id"]
    await kiosk.expect("ring")
    await kiosk.send(type="accept", call_id=call_id)
    await host.expect("call-state")
    await kiosk.expect("call-state")
    guest_client = await nodes(0)
    assert (await guest_client.get(f"/join/{token}")).status == 200
    ida = await open_socket(guest_client, {"invite": token, "name": "Ida"})
    knock = await host.expect("knock")
    assert knock["name"] == "Ida" and knock["call_id"] == call_id
    await host.send(type="admit", lobby_id=knock["lobby_id"])
    assert (await ida.expect("admitted"))["call_id"] == call_id
    assert len((await ida.expect("call-state"))["peers"]) == 3
    assert (await kiosk.expect("peer-joined"))["peer"]["name"] == "Ida"
    await host.send(type="remove", call_id=call_id, peer_id=ida.peer_id)
    assert (await ida.expect("removed"))["call_id"] == call_id
    assert await ida.closed_with() == 1000


async def test_tablets_are_registered_again_after_redis_forgets(
    nodes: Nodes, node_settings: Settings, redis: Redis
) -> None:
    """Redis restarted empty: within a heartbeat each node registers its sockets again, so the
    tablet on node A is online for a nurse on node B without reconnecting."""
    kiosk = await kiosk_socket(await nodes(0), node_settings, 0)
    nurse = await staff_socket(await nodes(1), "anna")
    citizen_id = str(kiosk.welcome["identity"]["citizen_id"])
    await redis.flushdb()
    async with asyncio.timeout(10):
        while not (await subscribed(nurse, citizen_id))["online"]:  # noqa: ASYNC110 (Redis)
            await asyncio.sleep(0.2)


async def test_a_tablet_revoked_on_one_node_is_refused_at_once_on_another(
    nodes: Nodes, node_settings: Settings
) -> None:
    """Node A knows Karen's tablet from a moment ago (its token cache); the tablet is revoked
    through node B; its next hello on node A is refused, not let in from A's memory."""
    node_a = await nodes(0)
    kiosk = await kiosk_socket(node_a, node_settings, 0)
    await kiosk.ws.close()  # an ordinary close: node A keeps the token in its cache
    nurse = await nodes(1)
    revoked = await nurse.post(
        "/api/citizens/1/kiosk/revoke", json={}, headers={"X-CSRF-Token": await staff_csrf(nurse)}
    )
    assert revoked.status == 200, await revoked.text()
    async with asyncio.timeout(5):
        while True:  # the word reaches node A over Redis within moments
            ws = await node_a.ws_connect("/ws")
            token = demo_kiosk_token(node_settings, 0)
            await ws.send_json({"type": "hello", "id": 1, "version": ["1"], "token": token})
            reply = await ws.receive_json(timeout=5)
            await ws.close()
            if reply["type"] == "error":
                assert reply["code"] == "forbidden"
                break
            await asyncio.sleep(0.05)
