"""The cheap paths of an idle socket and its handshake, through the real server: batched
last-seen writes, tokens from memory (and refused at once when revoked), a full pool as a
retryable answer, and the ping fast path."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from server.app import create_app
from server.demo import demo_kiosk_token, seed_demo
from server.heap import HeapKeeper
from server.keys import engine_key, sessionmaker_key
from server.models import KioskDevice, utcnow
from server.settings import Settings
from server.signaling import hub_key
from server.signaling.handler import RELEASE_AFTER_S, fast_pong
from server.signaling.lastseen import LastSeen
from server.signaling.messages import MessageError, Ping, Pong, parse_client_message
from server.ttlcache import TtlCache
from tests.conftest import ClientFactory, login
from tests.databases import transaction
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import kiosk_socket, staff_socket

KAREN = 0  # demo citizen index of Karen (citizen id 1, Team Nord)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return both_backends


@pytest.fixture
def signaling_settings(demo: Settings) -> Settings:
    """Short timers; last-seen written every 0.2 s so a test sees its rounds."""
    return dataclasses.replace(demo, ws_heartbeat_s=5.0, last_seen_flush_s=0.2)


@contextmanager
def statements(app: web.Application, needle: str) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs that contain ``needle`` (an executemany of
    many rows counts once: it is one statement)."""
    seen: list[str] = []
    engine: Engine = app[engine_key].sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if needle in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def last_seen_of(settings: Settings, citizen_ids: range) -> list[Any]:
    async with transaction(settings.database_url) as session:
        rows = await session.scalars(
            select(KioskDevice.last_seen_at)
            .where(KioskDevice.citizen_id.in_(list(citizen_ids)))
            .order_by(KioskDevice.citizen_id)
        )
        return list(rows)


async def test_last_seen_of_many_connects_is_one_statement(
    aiohttp_client: ClientFactory, signaling_settings: Settings
) -> None:
    """Ten tablets connecting, then leaving: one UPDATE each time, not one per socket. (The
    rounds are started by hand: with a short interval a busy machine splits the ten connects
    over two rounds, which says nothing about batching.)"""
    slow = dataclasses.replace(signaling_settings, last_seen_flush_s=3600.0)
    server = TestServer(create_app(slow))
    clients = [await aiohttp_client(server) for _ in range(10)]
    hub = server.app[hub_key]
    with statements(server.app, "UPDATE kiosk_device") as updates:
        kiosks = [await kiosk_socket(c, slow, i) for i, c in enumerate(clients)]
        await hub.seen.flush()
        assert len(updates) == 1
        assert None not in await last_seen_of(slow, range(1, 11))
        for kiosk in kiosks:
            await kiosk.ws.close()
        citizens = [str(i) for i in range(1, 11)]
        async with asyncio.timeout(20):  # every socket's departure noted
            while await hub.book.online_citizens(citizens):  # noqa: ASYNC110 (book state)
                await asyncio.sleep(0.02)
        await hub.seen.flush()
        assert len(updates) == 2


async def test_presence_reads_unwritten_last_seen(
    aiohttp_client: ClientFactory, signaling_settings: Settings
) -> None:
    """Before the batch is written, a staff member already sees when the tablet went away."""
    slow = dataclasses.replace(signaling_settings, last_seen_flush_s=30.0)
    server = TestServer(create_app(slow))
    nurse = await staff_socket(await aiohttp_client(server), "anna")
    kiosk = await kiosk_socket(await aiohttp_client(server), slow, KAREN)
    await kiosk.ws.close()
    await nurse.send(type="presence-subscribe", id=1, citizen_ids=["1"])
    entry = (await nurse.expect("presence"))["entries"][0]
    assert not entry["online"] and entry["last_seen"]
    assert await last_seen_of(signaling_settings, range(1, 2)) == [None]
    await nurse.ws.close()


async def test_a_failed_round_is_written_next_round(
    signaling_settings: Settings, app: web.Application, new_client: NewClient
) -> None:
    """A database hiccup loses no last-seen time: the next round writes it."""
    await new_client()  # starts the app: its engine and sessionmaker
    seen = LastSeen(app[sessionmaker_key], interval_s=60.0)
    async with transaction(signaling_settings.database_url) as session:
        await session.execute(text("ALTER TABLE kiosk_device RENAME TO kiosk_device_gone"))
    try:
        seen.note(1, 1, utcnow())
        await seen.flush()
        assert seen.failed_rounds == 1 and seen.pending([1])
    finally:
        async with transaction(signaling_settings.database_url) as session:
            await session.execute(text("ALTER TABLE kiosk_device_gone RENAME TO kiosk_device"))
    await seen.close()
    assert seen.pending([1]) == {}
    assert None not in await last_seen_of(signaling_settings, range(1, 2))


async def test_reconnect_is_let_in_from_memory(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """A tablet that reconnects at once is not looked up in the database again."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.close()
    with statements(app, "token_hash") as lookups:
        again = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    assert lookups == []
    await again.ws.close()


async def test_revoked_tablet_is_refused_at_once(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Revoking closes the open socket, and its token, known from a moment ago, is refused."""
    staff = await new_client()
    assert await login(staff, "anna") == 303
    csrf = (await (await staff.get("/api/me")).json())["csrf_token"]
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    response = await staff.post(
        "/api/citizens/1/kiosk/revoke", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    assert await kiosk.closed_with() == 1008
    ws = await (await new_client()).ws_connect("/ws")
    token = demo_kiosk_token(signaling_settings, KAREN)
    await ws.send_json({"type": "hello", "id": 1, "version": ["1"], "token": token})
    assert (await ws.receive_json(timeout=5))["code"] == "forbidden"
    assert (await ws.receive(timeout=5)).type is WSMsgType.CLOSE and ws.close_code == 1008


async def test_tablet_revoked_while_offline_is_refused(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A tablet known from a moment ago, revoked while it had no socket, is refused."""
    staff = await new_client()
    assert await login(staff, "anna") == 303
    csrf = (await (await staff.get("/api/me")).json())["csrf_token"]
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.close()
    response = await staff.post(
        "/api/citizens/1/kiosk/revoke", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    ws = await (await new_client()).ws_connect("/ws")
    token = demo_kiosk_token(signaling_settings, KAREN)
    await ws.send_json({"type": "hello", "id": 1, "version": ["1"], "token": token})
    assert (await ws.receive_json(timeout=5))["code"] == "forbidden"


@pytest.fixture
async def tiny_pool(postgres_only: str) -> Settings:
    """The demo with one pooled connection and a short wait (PostgreSQL: SQLite keeps its
    own pool)."""
    settings = Settings(
        database_url=postgres_only,
        secret_key="test-secret",
        scheduler_enabled=False,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.3,
    )
    await seed_demo(settings)
    return settings


@pytest.mark.postgres
async def test_full_pool_is_a_retryable_answer(
    aiohttp_client: ClientFactory, tiny_pool: Settings
) -> None:
    """With every connection taken: the API answers 503 with Retry-After, a hello gets
    try_again and a 1013 close; never a 500 or an internal error."""
    app = create_app(tiny_pool)
    client = await aiohttp_client(app)
    token = demo_kiosk_token(tiny_pool, KAREN)
    async with app[engine_key].connect() as held:
        await held.execute(text("SELECT 1"))
        response = await client.get("/api/kiosk/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 503 and response.headers["Retry-After"] == "2"
        assert (await response.json())["error"]["code"] == "unavailable"
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "hello", "id": 4, "version": ["1"], "token": token})
        error = await ws.receive_json(timeout=5)
        assert error == {
            "type": "error",
            "code": "try_again",
            "message": error["message"],
            "ref": 4,
        }
        assert (await ws.receive(timeout=5)).type is WSMsgType.CLOSE and ws.close_code == 1013
    response = await client.get("/api/kiosk/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


PINGS = [
    '{"type":"ping","id":7}',
    '{"id":7,"type":"ping"}',
    '{"type":"ping"}',
    '{"type":"ping","id":0}',
    '{"type":"ping","id":9007199254740991}',
    '{"type":"ping","id":9007199254740992}',
    '{"type":"ping","id":-1}',
    '{"type":"ping","id":07}',
    '{"type": "ping", "id": 7}',
    '{"type":"ping","id":7,"x":1}',
    '{"type":"ping","id":"7"}',
]


@pytest.mark.parametrize("frame", PINGS)
def test_ping_fast_path_answers_as_the_parser_would(frame: str) -> None:
    """Where the fast path answers, it is the very pong the parsed path sends; what it does
    not recognise exactly is left to the parser."""
    pong = fast_pong(frame)
    try:
        parsed = parse_client_message(frame)
    except MessageError:
        assert pong is None
        return
    assert isinstance(parsed, Ping)
    assert pong is None or pong == Pong(ref=parsed.id).model_dump_json()


def test_fast_path_takes_what_clients_send() -> None:
    """The browser's and the Python agent's pings both take the fast path."""
    assert fast_pong('{"type":"ping","id":12}') == '{"ref":12,"type":"pong"}'
    assert fast_pong(Ping(id=12).model_dump_json()) == '{"ref":12,"type":"pong"}'


async def test_ping_over_the_socket(new_client: NewClient, signaling_settings: Settings) -> None:
    """A compact ping and a spaced one get the same pong bytes."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.send_str('{"type":"ping","id":3}')
    await kiosk.ws.send_str('{"type": "ping", "id": 3}')
    assert await kiosk.ws.receive_str(timeout=5) == await kiosk.ws.receive_str(timeout=5)
    await kiosk.ws.close()


def test_ttl_cache_expires_and_forgets() -> None:
    """Entries live their time, then are gone; forget drops by value; a zero ttl keeps none."""
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(10.0, lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    assert cache.forget(lambda v: v == 2) == 1 and cache.get("b") is None
    now[0] = 10.0
    assert cache.get("a") is None
    cache.put("c", 3)  # the sweep drops the expired "a"
    assert len(cache) == 1
    off: TtlCache[str, int] = TtlCache(0.0, lambda: now[0])
    off.put("a", 1)
    assert off.get("a") is None


async def test_closed_socket_leaves_no_cycles(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A closed socket is freed by reference counting: nothing of it waits for the collector
    (frozen, it would wait for ever)."""
    client = await new_client()
    gc.unfreeze()
    gc.collect()  # what earlier tests left behind
    kiosk = await kiosk_socket(client, signaling_settings, KAREN)
    await kiosk.ws.close()
    await asyncio.sleep(RELEASE_AFTER_S + 0.5)  # the transport's cycle is broken by then
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left & {"RequestHandler", "WebSocketResponse", "Request", "Peer"}


async def test_heap_keeper_freezes_and_thaws_after_a_mass_disconnect() -> None:
    """Long-lived objects are frozen each round; when nine in ten sockets are gone, all is
    thawed for one full collection; stopping gives everything back."""
    live = [2000]
    keeper = HeapKeeper(lambda: live[0], every_s=3600)
    keeper.start()
    try:
        keeper.tick()
        assert gc.get_freeze_count() > 0
        live[0] = 150
        keeper.tick()
        assert gc.get_freeze_count() == 0
        keeper.tick()
        assert gc.get_freeze_count() > 0
    finally:
        keeper.stop()
    assert gc.get_freeze_count() == 0


async def test_signalling_frames_are_never_compressed(new_client: NewClient) -> None:
    """A client offering permessage-deflate (every browser does) gets a socket without it: a
    compressing socket keeps a zlib compressor of up to 256 KiB on the server."""
    client = await new_client()
    assert await login(client, "anna") == 303
    ws = await client.ws_connect("/ws", compress=15)
    assert ws.compress == 0
    await ws.send_json({"type": "hello", "id": 1, "version": ["1"]})
    assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    await ws.close()
