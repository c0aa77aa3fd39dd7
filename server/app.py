"""``create_app(settings)``: the one place that wires the application together."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, web
from prometheus_client import CollectorRegistry

from . import i18n, ops, pages, signaling
from .api import API_TABLES
from .api.openapi import build_openapi
from .api.spec import dump
from .auth.devices import KioskTokens, kiosk_tokens_key
from .auth.idle import keepalive_ctx
from .bounds import path_id_middleware
from .db import database_ctx
from .heap import heap_ctx
from .keys import (
    enrolment_limiter_key,
    limiters_key,
    login_locks_key,
    metrics_key,
    metrics_registry_key,
    relative_link_limiter_key,
    settings_key,
    staff_photos_key,
    websockets_key,
)
from .media.selftest import selftest_ctx
from .metrics import Metrics
from .middlewares import (
    error_middleware,
    forwarded_middleware,
    identity_middleware,
    security_headers,
)
from .notices.job import notices_ctx
from .ratelimit import CODE_FAILURES_PER_STAFF, RELATIVE_LINK_FAILURES, Limiters
from .scheduling.import_jobs import import_jobs_ctx
from .scheduling.jobs import scheduler_ctx
from .settings import Settings
from .ttlcache import TtlCache

VERSION = "0.1.0"


def create_app(settings: Settings) -> web.Application:
    """Assemble routes, middlewares, templates and resource lifetimes."""
    app = web.Application(
        middlewares=[
            forwarded_middleware,
            error_middleware,
            identity_middleware,
            path_id_middleware,
        ],
        client_max_size=settings.max_body_kb * 1024,
    )
    app[settings_key] = settings
    app[metrics_registry_key] = registry = CollectorRegistry()
    app[metrics_key] = Metrics.create(registry)
    app[websockets_key] = weakref.WeakSet()
    app[login_locks_key] = weakref.WeakValueDictionary()
    app[limiters_key] = limiters = Limiters(settings.redis_url)
    app.on_cleanup.append(lambda _: limiters.close())
    app[enrolment_limiter_key] = limiters.make("enrol", CODE_FAILURES_PER_STAFF)
    app[relative_link_limiter_key] = limiters.make("relative-link", RELATIVE_LINK_FAILURES)
    app[kiosk_tokens_key] = KioskTokens(settings.handshake_cache_s)
    app[staff_photos_key] = TtlCache(settings.handshake_cache_s, time.monotonic)
    templates = [settings.web_dir / "templates", settings.kiosk_dir / "templates"]
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(templates))
    i18n.setup(app, i18n.load_catalogues())
    app.cleanup_ctx.append(heap_ctx)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(selftest_ctx)
    app.cleanup_ctx.append(import_jobs_ctx)  # after the database: jobs record their stop in it
    app.on_response_prepare.append(security_headers)
    _add_routes(app)
    app.on_shutdown.append(close_websockets)  # after signalling's: calls end before sockets close
    app.cleanup_ctx.append(scheduler_ctx)  # after the hub: it reaches the consoles through it
    app.cleanup_ctx.append(notices_ctx)
    app.cleanup_ctx.append(keepalive_ctx(_console_sessions))  # an open console is in use
    return app


def _console_sessions(app: web.Application) -> set[int]:
    """The login sessions behind this process's open staff sockets."""
    peers = app[signaling.hub_key].peers.values()
    return {p.profile.staff.session_id for p in peers if p.profile.staff is not None}


def _add_routes(app: web.Application) -> None:
    app.add_routes(ops.routes)
    pages.setup(app)
    for table in API_TABLES:
        app.add_routes(table.table)
    openapi = dump(build_openapi(API_TABLES, VERSION))

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(text=openapi, content_type="application/json")

    app.router.add_get("/api/openapi.json", openapi_document)
    signaling.setup(app)


CLOSE_AT_ONCE = 1_000  # sockets closed together on shutdown (each waits for its client's reply)
CLOSE_ALL_WITHIN_S = 5.0  # then the rest are simply dropped: the clients reconnect all the same


async def close_websockets(app: web.Application) -> None:
    """Close every open WebSocket with 1001 so clients reconnect to another node — together,
    not one after another: 19,000 tablets each answering a close frame in turn took over 10 s
    (systemd's patience and the tablets' with it)."""
    sockets = [*app[websockets_key]]
    gate = asyncio.Semaphore(CLOSE_AT_ONCE)

    async def close(ws: web.WebSocketResponse) -> None:
        async with gate:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_ALL_WITHIN_S):
            await asyncio.gather(*(close(ws) for ws in sockets), return_exceptions=True)
