"""``create_app(settings)``: the one place that wires the application together."""

from __future__ import annotations

import weakref

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, web
from prometheus_client import CollectorRegistry

from . import figures_page, i18n, kiosk_pages, ops, pages, signaling
from .api import admin, citizen_page, citizens, console, kiosk_device, me, outcomes
from .api import agreements as agreements_api
from .api import enrolment as enrolment_api
from .api import scheduling as scheduling_api
from .api.openapi import build_openapi
from .api.spec import ApiRoutes, dump
from .auth import login
from .db import database_ctx
from .enrolment import FailureLimiter
from .keys import login_locks_key, metrics_key, metrics_registry_key, settings_key, websockets_key
from .media import api as selftest_api
from .media.selftest import selftest_ctx
from .metrics import Metrics
from .middlewares import (
    error_middleware,
    forwarded_middleware,
    identity_middleware,
    security_headers,
)
from .scheduling.jobs import scheduler_ctx
from .settings import Settings

VERSION = "0.1.0"
API_TABLES: tuple[ApiRoutes, ...] = (
    me.api,
    citizens.api,
    console.api,
    outcomes.api,
    citizen_page.api,
    admin.api,
    enrolment_api.api,
    kiosk_device.api,
    selftest_api.api,
    *scheduling_api.TABLES,
    agreements_api.api,
)


def create_app(settings: Settings) -> web.Application:
    """Assemble routes, middlewares, templates and resource lifetimes."""
    app = web.Application(
        middlewares=[forwarded_middleware, error_middleware, identity_middleware],
        client_max_size=settings.max_body_kb * 1024,
    )
    app[settings_key] = settings
    app[metrics_registry_key] = registry = CollectorRegistry()
    app[metrics_key] = Metrics.create(registry)
    app[websockets_key] = weakref.WeakSet()
    app[login_locks_key] = weakref.WeakValueDictionary()
    templates = [settings.web_dir / "templates", settings.kiosk_dir / "templates"]
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(templates))
    i18n.setup(app, i18n.load_catalogues())
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(selftest_ctx)
    app[enrolment_api.enrolment_limiter_key] = FailureLimiter()
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(close_websockets)
    _add_routes(app, settings)
    app.cleanup_ctx.append(scheduler_ctx)  # after the hub: it pushes alerts through it
    return app


def _add_routes(app: web.Application, settings: Settings) -> None:
    app.add_routes(ops.routes)
    app.add_routes(login.routes)
    app.add_routes(pages.routes)
    app.add_routes(figures_page.routes)
    for table in API_TABLES:
        app.add_routes(table.table)
    openapi = dump(build_openapi(API_TABLES, VERSION))

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(text=openapi, content_type="application/json")

    app.router.add_get("/api/openapi.json", openapi_document)
    signaling.setup(app)
    kiosk_pages.setup(app)
    app.router.add_static("/static/", settings.web_dir / "static", name="static")


async def close_websockets(app: web.Application) -> None:
    """Close every open WebSocket with 1001 so clients reconnect to another node."""
    sockets = app[websockets_key]
    for ws in set(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
