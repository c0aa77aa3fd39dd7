"""The planner's page (`/planning`): what needs a planner or visitator now.

Visits nobody has (with "Tildel" and the continuity ranking), citizens nobody can ring until a
screen-visit consent is recorded, citizens with few new faces, and the way to each citizen's
plan editor and to imports.
"""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import require_staff
from ..auth.scope import citizen_scope
from ..citizens import search
from ..keys import sessionmaker_key, settings_key
from ..models import utcnow
from ..rooms.ringable import without_screen_consent
from ..templating import render
from ..visits import worklist
from ..visits.continuity import few_new_faces_citizens
from ..vocabulary import Role

routes = web.RouteTableDef()

PLANNING_ROLES = (Role.PLANNER, Role.VISITATOR, Role.ADMIN)


@routes.get("/planning", name="planning")
async def planning_page(request: web.Request) -> web.Response:
    """The planner's work list; `?q=` finds a citizen's plan editor."""
    identity = require_staff(request, *PLANNING_ROLES)
    query = request.query.get("q", "")[: search.QUERY_MAX]
    now = utcnow()
    async with request.app[sessionmaker_key]() as session:
        context = {
            "unassigned": await worklist.unassigned(session, identity, now),
            "no_consent": await without_screen_consent(session, citizen_scope(identity)),
            "few_faces": await few_new_faces_citizens(session, citizen_scope(identity)),
            "plan_hits": await search.search(session, identity, query, now, 20) if query else [],
        }
    context |= {"q": query, "tz": request.app[settings_key].zone}
    return render(request, "planning.html", context)
