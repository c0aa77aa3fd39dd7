"""The citizen search page (`/citizens`): every staff role finds a citizen in their scope.

A plain GET form, so the search works without JavaScript; the results link to the citizen page,
where "Ring op" is.
"""

from __future__ import annotations

from aiohttp import web

from .. import audit
from ..auth.authz import require_staff
from ..citizens import search
from ..keys import sessionmaker_key, settings_key
from ..models import utcnow
from ..templating import render

routes = web.RouteTableDef()


@routes.get("/citizens", name="citizens")
async def citizens_page(request: web.Request) -> web.Response:
    """Search by name or preferred name (`?q=`); no query lists the first citizens in scope."""
    identity = require_staff(request)
    query = request.query.get("q", "")[: search.QUERY_MAX]
    async with request.app[sessionmaker_key]() as session:
        hits = await search.search(session, identity, query, utcnow())
        await audit.record_read(
            session,
            "citizen.list",
            actor=identity,
            citizen_ids=[h.id for h in hits],
            detail={"q": query},
            request=request,
        )
    context = {
        "q": query,
        "hits": hits,
        "limit": search.DEFAULT_LIMIT,
        "tz": request.app[settings_key].zone,
    }
    return render(request, "citizens.html", context)
