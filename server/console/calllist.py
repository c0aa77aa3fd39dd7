"""The "I dag" page: today's call list, rendered on the server and refreshed live in place."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from ..api.console import requested_day
from ..auth.authz import require_staff
from ..keys import sessionmaker_key, settings_key
from ..models import Team, utcnow
from ..templating import render
from .daylist import day_list

routes = web.RouteTableDef()


async def _context(request: web.Request) -> dict[str, object]:
    identity = require_staff(request)
    tz = ZoneInfo(request.app[settings_key].timezone)
    day = requested_day(request, tz)
    async with request.app[sessionmaker_key]() as session:
        rows = await day_list(session, identity, day, tz, utcnow())
        teams = (
            await session.scalars(
                select(Team.name).where(Team.id.in_(identity.team_ids)).order_by(Team.name)
            )
        ).all()
    return {"identity": identity, "teams": teams, "rows": rows, "day": day, "tz": tz}


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    """Today's call list for my teams, my own contact-person citizens first."""
    return render(request, "home.html", await _context(request))


@routes.get("/today/rows", name="today_rows")
async def today_rows(request: web.Request) -> web.Response:
    """Just the list's rows, for the live refresh after a ``visit-updated``."""
    return render(request, "_calllist_rows.html", await _context(request))
