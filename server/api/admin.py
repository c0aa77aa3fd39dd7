"""Administration over JSON (administrators only): settings, staff, teams, tablets, audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from .. import audit
from ..auth.authz import require_staff
from ..console import admin
from ..errors import InvalidInput
from ..keys import hub_key, sessionmaker_key
from ..models import Role
from ..orgsettings import OrgSettings
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="admin")


class StaffList(WireModel):
    """Staff and teams of the organisation."""

    staff: list[admin.StaffOut]
    teams: list[admin.TeamOut]


class NewStaff(WireModel):
    """A staff member to create; the password is given to them in person."""

    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{2,64}$")]
    display_name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    role: Role
    team_ids: Annotated[list[int], Field(max_length=20)] = []
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)]


class ActiveChange(WireModel):
    """Deactivate or reactivate a staff member."""

    active: bool


class NewTeam(WireModel):
    """A team to create."""

    name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class TabletList(WireModel):
    """Every tablet of the organisation."""

    tablets: list[admin.TabletRow]


class AuditList(WireModel):
    """Audit events, newest first."""

    events: list[admin.AuditRow]


def audit_filter(request: web.Request) -> admin.AuditFilter:
    """Filters from the query string (``since``/``until`` as ISO dates or datetimes)."""
    query = request.query

    def when(name: str) -> dt.datetime | None:
        raw = query.get(name)
        if not raw:
            return None
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be an ISO date or date-time.") from None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    return admin.AuditFilter(
        action=query.get("action") or None,
        actor=query.get("actor") or None,
        subject_kind=query.get("subject_kind") or None,
        subject_id=query.get("subject_id") or None,
        since=when("since"),
        until=when("until"),
    )


@api.get("/api/admin/settings", response=OrgSettings, summary="Organisation settings")
async def get_settings(request: web.Request) -> OrgSettings:
    """Ring timeout, auto-answer defaults, the retry ladder and the outcome edit window."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        return await admin.get_settings(session, identity.organisation_id)


@api.post("/api/admin/settings", body=OrgSettings, response=OrgSettings, summary="Change settings")
async def put_settings(request: web.Request, body: OrgSettings) -> OrgSettings:
    """Store the organisation's settings (audited with the new values)."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        saved = await admin.save_settings(session, identity.organisation_id, body)
        audit.record(
            session,
            "settings.update",
            actor=identity,
            subject=("organisation", identity.organisation_id),
            detail=body.model_dump(),
            request=request,
        )
    return saved


@api.get("/api/admin/staff", response=StaffList, summary="Staff and teams")
async def list_staff(request: web.Request) -> StaffList:
    """Every staff member with their teams, and the teams."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        return StaffList(
            staff=await admin.staff_list(session, identity.organisation_id),
            teams=await admin.team_list(session, identity.organisation_id),
        )


@api.post(
    "/api/admin/staff", body=NewStaff, response=admin.StaffOut, status=201, summary="New staff"
)
async def create_staff(request: web.Request, body: NewStaff) -> admin.StaffOut:
    """Create a staff member in teams of this organisation."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        staff = await admin.create_staff(
            session,
            identity,
            username=body.username,
            display_name=body.display_name,
            role=body.role,
            team_ids=body.team_ids,
            password=body.password,
        )
        audit.record(
            session,
            "staff.create",
            actor=identity,
            subject=("staff", staff.id),
            detail={"username": body.username, "role": body.role.value, "teams": body.team_ids},
            request=request,
        )
        return admin.StaffOut(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            role=staff.role,
            active=True,
            team_ids=sorted(body.team_ids),
        )


@api.post(
    r"/api/admin/staff/{staff_id:\d+}/active",
    body=ActiveChange,
    response=ActiveChange,
    summary="Deactivate or reactivate a staff member",
)
async def change_active(request: web.Request, body: ActiveChange) -> ActiveChange:
    """A deactivated staff member can no longer log in; existing sessions stop at once."""
    identity = require_staff(request, Role.ADMIN)
    staff_id = int(request.match_info["staff_id"])
    async with request.app[sessionmaker_key].begin() as session:
        await admin.set_active(session, identity, staff_id, body.active)
        action = "staff.activate" if body.active else "staff.deactivate"
        audit.record(session, action, actor=identity, subject=("staff", staff_id), request=request)
    if not body.active:
        await request.app[hub_key].close_staff(staff_id)
    return body


@api.post("/api/admin/teams", body=NewTeam, response=admin.TeamOut, status=201, summary="New team")
async def create_team(request: web.Request, body: NewTeam) -> admin.TeamOut:
    """Create a team."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        team = await admin.create_team(session, identity, body.name, body.phone)
        audit.record(
            session,
            "team.create",
            actor=identity,
            subject=("team", team.id),
            detail={"name": body.name},
            request=request,
        )
        return admin.TeamOut(id=team.id, name=team.name, phone=team.phone)


@api.get("/api/admin/tablets", response=TabletList, summary="Tablets")
async def list_tablets(request: web.Request) -> TabletList:
    """Every tablet with its citizen and status."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        return TabletList(tablets=await admin.tablet_list(session, identity.organisation_id))


@api.get("/api/admin/audit", response=AuditList, summary="The audit log, filtered")
async def list_audit(request: web.Request) -> AuditList:
    """Newest first; filter by action prefix, actor, subject, since and until."""
    identity = require_staff(request, Role.ADMIN)
    flt = audit_filter(request)
    async with request.app[sessionmaker_key]() as session:
        return AuditList(events=await admin.audit_rows(session, identity.organisation_id, flt))
