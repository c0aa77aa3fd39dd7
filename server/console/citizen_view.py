"""The citizen page: the record a nurse or visitator opens from the call list."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from .. import agreements
from ..auth.authz import require_citizen
from ..keys import sessionmaker_key, settings_key
from ..models import utcnow
from ..templating import render
from .citizen_page import overview

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
    tz = ZoneInfo(request.app[settings_key].timezone)
    today = utcnow().astimezone(tz).date()
    return render(request, "citizen.html", {"c": data, "tz": tz, "today": today} | sheets)
