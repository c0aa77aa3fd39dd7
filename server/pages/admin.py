"""Administration pages (administrators only) and the audit log's CSV export."""

from __future__ import annotations

from aiohttp import web

from .. import audit, orgsettings
from ..admin import auditlog, staff, tablets
from ..auth.authz import require_staff
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import utcnow
from ..query import audit_filter
from ..templating import render
from ..vocabulary import Role

routes = web.RouteTableDef()


@routes.get("/admin", name="admin")
async def admin_page(request: web.Request) -> web.Response:
    """Staff and teams, tablets and settings on one page."""
    identity = require_staff(request, Role.ADMIN)
    org = identity.organisation_id
    async with request.app[sessionmaker_key]() as session:
        context = {
            "staff": await staff.staff_list(session, org),
            "teams": await staff.team_list(session, org),
            "tablets": await tablets.tablet_list(session, org),
            "tablet_citizens": await tablets.citizen_choices(session, org),
            "settings": await orgsettings.load(session, org),
            "roles": [r.value for r in Role],
            "tz": request.app[settings_key].zone,
        }
    return render(request, "admin.html", context)


@routes.get("/admin/audit", name="audit")
async def audit_page(request: web.Request) -> web.Response:
    """The audit log with filters."""
    identity = require_staff(request, Role.ADMIN)
    flt = audit_filter(request)
    async with request.app[sessionmaker_key]() as session:
        rows = await auditlog.audit_rows(session, identity.organisation_id, flt)
    context = {
        "rows": rows,
        "flt": flt,
        "query": request.query_string,
        "tz": request.app[settings_key].zone,
    }
    return render(request, "audit.html", context)


@routes.get("/admin/audit.csv", name="audit_csv")
async def audit_csv(request: web.Request) -> web.Response:
    """The filtered audit log as CSV (the export itself is audited)."""
    identity = require_staff(request, Role.ADMIN)
    flt = audit_filter(request)
    async with request.app[sessionmaker_key].begin() as session:
        rows = await auditlog.audit_rows(
            session, identity.organisation_id, flt, limit=auditlog.AUDIT_CSV_MAX
        )
        audit.record(
            session,
            "audit.export",
            actor=identity,
            detail={"rows": len(rows), "query": request.query_string[:500]},
            request=request,
        )
    stamp = local_day(utcnow(), request.app[settings_key].zone).isoformat()
    return web.Response(
        text=auditlog.audit_csv(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
