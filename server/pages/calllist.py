"""The "I dag" page: today's call list, rendered on the server and refreshed live in place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from .. import audit
from ..auth.authz import require_staff
from ..auth.scope import citizen_scope
from ..keys import sessionmaker_key, settings_key
from ..models import Team, utcnow
from ..notices.rules import DELAY_AHEAD
from ..query import requested_day
from ..templating import render
from ..visits.daylist import DayScope, call_list_order, day_list
from ..visits.inbox_list import entries

routes = web.RouteTableDef()


async def _context(request: web.Request) -> dict[str, object]:
    identity = require_staff(request)
    zone = request.app[settings_key].zone
    day = requested_day(request, zone)
    scope = DayScope(
        citizens=citizen_scope(identity), contact_person=identity.staff_id, include_cancelled=True
    )
    now = utcnow()
    async with request.app[sessionmaker_key]() as session:
        rows = await day_list(session, scope, day, tz=zone, now=now)
        await audit.record_read(
            session,
            "calllist.read",
            actor=identity,
            citizen_ids=[r.citizen_id for r in rows],
            detail={"date": day.isoformat()},
            request=request,
        )
        teams = (
            await session.scalars(
                select(Team.name).where(Team.id.in_(identity.team_ids)).order_by(Team.name)
            )
        ).all()
    context = {
        "rows": call_list_order(rows),
        "day": day,
        "tz": zone,
        "teams": teams,
        "delay_until": now + DELAY_AHEAD,
    }
    return {"identity": identity, **context}


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    """The team's inbox, then today's call list, my own contact-person citizens first."""
    context = await _context(request)
    async with request.app[sessionmaker_key]() as session:
        context["items"] = await entries(session, require_staff(request), utcnow())
    return render(request, "home.html", context)


@routes.get("/today/rows", name="today_rows")
async def today_rows(request: web.Request) -> web.Response:
    """Just the list's rows, for the live refresh after a ``visit-updated``."""
    return render(request, "_calllist_rows.html", await _context(request))


@routes.get("/inbox/items", name="inbox_items")
async def inbox_items(request: web.Request) -> web.Response:
    """Just the inbox's items, for the live refresh after an ``alert`` or ``inbox-changed``."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        items = await entries(session, identity, utcnow())
    zone = request.app[settings_key].zone
    return render(request, "_inbox_items.html", {"items": items, "tz": zone})
