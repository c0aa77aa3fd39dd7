"""The citizen page: the record a nurse or visitator opens from the call list."""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import require_citizen
from ..citizens import agreements
from ..citizens.overview import overview
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import utcnow
from ..templating import render

routes = web.RouteTableDef()


@routes.get(r"/citizens/{citizen_id:\d+}", name="citizen")
async def citizen_view(request: web.Request) -> web.Response:
    """Plans, people, consents, relatives, tablet, call history and observations."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        data = await overview(session, citizen, identity.language)
        sheets = {
            "sheets": await agreements.sheets_for(session, citizen_id),
            "may_write_sheet": agreements.may_write(identity, citizen),
            "team_phone": await agreements.team_phone(session, citizen),
        }
    zone = request.app[settings_key].zone
    today = local_day(utcnow(), zone)
    return render(request, "citizen.html", {"c": data, "tz": zone, "today": today} | sheets)
