"""WebSocket signalling: ``setup(app)`` adds the endpoint, its schema and the live hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from ..auth.devices import kiosk_tokens_key
from ..keys import (
    book_key,
    metrics_key,
    sessionmaker_key,
    settings_key,
    team_feed_key,
)
from ..meetings.lobby import SharedLobby
from ..process_owner import owner_id
from ..rooms.book import PeerProfile
from ..rooms.fallback_book import FallbackBook
from ..rooms.local_book import LocalBook
from ..rooms.redis_book import RedisBook
from . import cluster
from .cluster import RedisBus
from .handler import websocket_handler
from .hub import Hub, hub_key
from .leases import end_own_calls, leases_ctx
from .messages import signaling_json_schema

__all__ = ["hub_key", "setup"]
REDIS_CONNECTIONS = 32
REDIS_WAIT_S = 10.0
# A Redis that stops answering (a cut network, not a refused connection) is noticed within this,
# and the node carries on with its own sockets (``rooms.fallback_book``).
REDIS_SOCKET_S = 2.0


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """The live-call book and the hub, for the app's lifetime (after the database): in this
    process, or shared with the other nodes in Redis when ``redis_url`` is set."""
    settings = app[settings_key]
    if settings.redis_url:
        async with _cluster_hub(app, settings.redis_url):
            yield
        return
    book = LocalBook(settings.max_call_participants)
    hub = Hub(settings, app[sessionmaker_key], app[metrics_key], book, owner_id())
    _publish(app, hub)
    yield
    await hub.close()


@contextlib.asynccontextmanager
async def _cluster_hub(app: web.Application, url: str) -> AsyncIterator[None]:
    settings = app[settings_key]
    # A bounded pool that makes callers wait: thousands of sockets closing at once must not
    # open thousands of Redis connections (a process may open 20,000 files in all).
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_WAIT_S,
        socket_timeout=REDIS_SOCKET_S,
        socket_connect_timeout=REDIS_SOCKET_S,
    )
    redis = Redis(connection_pool=pool)
    node_id = owner_id()
    hub: Hub | None = None

    def local_peers() -> list[tuple[str, PeerProfile, str]]:
        peers = hub.peers.values() if hub is not None else ()
        return [(p.peer_id, p.profile, p.resume_token) for p in peers]

    shared = RedisBook(redis, node_id, settings.max_call_participants)
    book = FallbackBook(shared, local_peers)
    hub = Hub(
        settings,
        app[sessionmaker_key],
        app[metrics_key],
        book,
        node_id,
        bus=lambda peers: RedisBus(peers, redis, book, app[kiosk_tokens_key].forget_citizen),
        lobby=SharedLobby(redis),
    )
    _publish(app, hub)
    assert isinstance(hub.bus, RedisBus)
    try:
        async with cluster.running(cluster.Node(hub, redis, book, hub.bus), redis):
            yield
    finally:
        await hub.close()
        await redis.aclose()


def _publish(app: web.Application, hub: Hub) -> None:
    app[book_key] = hub.book
    app[hub_key] = hub
    app[team_feed_key] = hub


async def signaling_schema(request: web.Request) -> web.Response:
    """The JSON Schema of every signalling message, for outside clients."""
    return web.json_response(signaling_json_schema())


def setup(app: web.Application) -> None:
    """Wire signalling into the app (called once, from ``create_app``)."""
    app.cleanup_ctx.append(hub_ctx)
    app.cleanup_ctx.append(leases_ctx)
    # Before the sockets close (``app.close_websockets``): people hear their call ended.
    app.on_shutdown.append(end_own_calls)
    app.router.add_get("/ws", websocket_handler, name="ws")
    app.router.add_get("/api/signaling-schema.json", signaling_schema)
