"""The citizen's tablet: one page under ``/kiosk/`` (its ES modules are static files).

The page itself holds no citizen data (the tablet fetches it with its device token), so it is
served to anyone; everything it shows comes from the token-authenticated JSON API and the
signalling socket.
"""

from __future__ import annotations

from aiohttp import web

from ..keys import settings_key
from ..templating import render

routes = web.RouteTableDef()


@routes.get("/kiosk", name="kiosk_bare")
async def kiosk_bare(request: web.Request) -> web.Response:
    """``/kiosk`` → ``/kiosk/`` (keeps relative module paths simple)."""
    raise web.HTTPPermanentRedirect("/kiosk/")


@routes.get("/kiosk/", name="kiosk")
async def kiosk_page(request: web.Request) -> web.Response:
    """The tablet's single page: start, pairing, idle, ringing, call, reconnecting, revoked."""
    settings = request.app[settings_key]
    response = render(request, "kiosk.html", {"selftest_lead_min": settings.selftest_lead_min})
    response.headers["Cache-Control"] = "no-store"
    return response
