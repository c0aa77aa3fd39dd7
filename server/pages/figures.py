"""The key-figures dashboard page (`/figures`): charts per team and week, data from the JSON API.

The page carries no numbers itself: `web/static/js/figures.js` fetches `/api/figures` and draws
the charts with the vendored Chart.js (CSP `script-src 'self'`, so no CDN and no inline script).
"""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import require_staff
from ..auth.scope import visible_teams
from ..keys import sessionmaker_key
from ..templating import render

routes = web.RouteTableDef()
WEEK_CHOICES = (4, 8, 13, 26, 52)


@routes.get("/figures", name="figures")
async def figures_page(request: web.Request) -> web.Response:
    """The dashboard with a team picker (the teams the caller may see) and a period picker."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        teams = await visible_teams(session, identity)
    context = {"teams": [(t.id, t.name) for t in teams], "week_choices": WEEK_CHOICES}
    return render(request, "figures.html", context)
