"""Staff pages rendered with jinja2."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from .auth.authz import citizen_scope, require_staff
from .keys import sessionmaker_key
from .models import Citizen, Team
from .templating import render

routes = web.RouteTableDef()


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    """The start page: who I am, my teams and how many citizens I look after."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        teams = (
            await session.scalars(
                select(Team.name).where(Team.id.in_(identity.team_ids)).order_by(Team.name)
            )
        ).all()
        citizens = await session.scalar(
            select(func.count()).select_from(Citizen).where(citizen_scope(identity))
        )
    context = {"identity": identity, "teams": teams, "citizen_count": citizens or 0}
    return render(request, "home.html", context)
