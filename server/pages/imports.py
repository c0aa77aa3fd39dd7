"""The imports page (`/imports`): upload a care-record export, watch its job, read its report.

The page carries no job data itself: `web/static/js/imports.js` uploads the file to
`/api/import-jobs`, polls the job about once a second and lists the recent imports, so a
planner can leave and come back.
"""

from __future__ import annotations

from aiohttp import web

from ..auth.authz import require_staff
from ..templating import render
from ..vocabulary import Role

routes = web.RouteTableDef()


@routes.get("/imports", name="imports")
async def imports_page(request: web.Request) -> web.Response:
    """The upload form, the progress of the current job and the recent imports."""
    require_staff(request, Role.PLANNER, Role.VISITATOR, Role.ADMIN)
    return render(request, "imports.html", {})
