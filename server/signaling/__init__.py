"""WebSocket signalling: ``setup(app)`` adds the endpoint, its schema and the live hub."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..keys import book_key, metrics_key, sessionmaker_key, settings_key, team_feed_key
from ..process_owner import owner_id
from ..rooms.local_book import LocalBook
from .handler import websocket_handler
from .hub import Hub, hub_key
from .leases import end_own_calls, leases_ctx
from .messages import signaling_json_schema

__all__ = ["hub_key", "setup"]


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """The live-call book and the hub, for the app's lifetime (after the database)."""
    settings = app[settings_key]
    book = LocalBook(settings.max_call_participants)
    hub = Hub(settings, app[sessionmaker_key], app[metrics_key], book, owner_id())
    app[book_key] = book
    app[hub_key] = hub
    app[team_feed_key] = hub
    yield
    await hub.close()


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
