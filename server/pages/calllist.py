"""The "I dag" page: today's call list, rendered on the server and refreshed live in place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from ..auth.authz import require_staff
from ..auth.scope import citizen_scope
from ..keys import sessionmaker_key, settings_key
from ..models import Team, utcnow
from ..query import requested_day
from ..templating import render
from ..visits.daylist import DayScope, call_list_order, day_list

routes = web.RouteTableDef()


async def _context(request: web.Request) -> dict[str, object]:
    identity = require_staff(request)
    zone = request.app[settings_key].zone
    day = requested_day(request, zone)
    scope = DayScope(
        citizens=citizen_scope(identity), contact_person=identity.staff_id, include_cancelled=True
    )
    async with request.app[sessionmaker_key]() as session:
        rows = await day_list(session, scope, day, tz=zone, now=utcnow())
        teams = (
            await session.scalars(
                select(Team.name).where(Team.id.in_(identity.team_ids)).order_by(Team.name)
            )
        ).all()
    context = {"rows": call_list_order(rows), "day": day, "tz": zone, "teams": teams}
    return {"identity": identity, **context}


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    """Today's call list for my teams, my own contact-person citizens first."""
    return render(request, "home.html", await _context(request))


@routes.get("/today/rows", name="today_rows")
async def today_rows(request: web.Request) -> web.Response:
    """Just the list's rows, for the live refresh after a ``visit-updated``."""
    return render(request, "_calllist_rows.html", await _context(request))
