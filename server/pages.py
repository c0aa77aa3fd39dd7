"""Staff pages rendered with jinja2: every page route, gathered for ``create_app``."""

from __future__ import annotations

from aiohttp import web

from .console import admin_pages, calllist, callview, citizen_view

routes: list[web.AbstractRouteDef] = [
    *calllist.routes,
    *callview.routes,
    *citizen_view.routes,
    *admin_pages.routes,
]
