"""The citizen page's data over JSON (the HTML page renders the same model)."""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import require_citizen
from ..console.citizen_page import CitizenOverview, overview
from ..keys import sessionmaker_key
from .spec import ApiRoutes

api = ApiRoutes(tag="citizen page")


@api.get(
    r"/api/citizens/{citizen_id:\d+}/overview",
    response=CitizenOverview,
    summary="Everything on the citizen page",
)
async def citizen_overview(request: web.Request) -> CitizenOverview:
    """Plans, contacts, consents with history, relatives, tablets, calls, visits, observations."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        return await overview(session, citizen, identity.language)
