"""The HTML edge: each page parses its request, calls services and renders a template.

``setup(app)`` adds every page route and the static files; nothing here is imported by a
service or by the JSON edge.
"""

from __future__ import annotations

from aiohttp import web

from ..keys import limiters_key, settings_key
from ..meetings.access import ADDRESS_FAILURES, JoinLimits, join_limits_key
from . import (
    admin,
    calllist,
    callview,
    citizen,
    citizens,
    figures,
    imports,
    join,
    kiosk,
    login,
    planning,
    plans,
    relative,
)

ROUTE_TABLES = (
    login.routes,
    calllist.routes,
    callview.routes,
    citizen.routes,
    plans.routes,
    citizens.routes,
    planning.routes,
    admin.routes,
    figures.routes,
    imports.routes,
    kiosk.routes,
    relative.routes,
    join.routes,
)


def setup(app: web.Application) -> None:
    """Add the pages, ``/static/`` and ``/kiosk/static/``."""
    for table in ROUTE_TABLES:
        app.add_routes(table)
    # The join page and the guests' signalling share it (and every node, with Redis).
    app[join_limits_key] = JoinLimits(app[limiters_key].make("join", ADDRESS_FAILURES))
    settings = app[settings_key]
    app.router.add_static("/static/", settings.web_dir / "static", name="static")
    app.router.add_static("/kiosk/static/", settings.kiosk_dir / "static", name="kiosk_static")
