"""Administration over JSON (administrators only): settings, staff, teams, tablets, audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from aiohttp import web
from pydantic import Field, StringConstraints

from .. import audit, orgsettings
from ..admin import auditlog, staff, tablets
from ..auth.authz import require_staff
from ..keys import sessionmaker_key
from ..orgsettings import OrgSettings
from ..query import audit_filter
from ..signaling import hub_key
from ..vocabulary import Role
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="admin")
W = TypeVar("W", bound=WireModel)


class StaffOut(WireModel):
    """A staff member with their teams."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    team_ids: list[int]


class TeamOut(WireModel):
    """A team."""

    id: int
    name: str
    phone: str | None


class TabletRow(WireModel):
    """A tablet of the organisation."""

    id: int
    label: str
    citizen_id: int | None
    citizen_name: str | None
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None


class AuditRow(WireModel):
    """One audit event."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    detail: dict[str, object]
    remote: str | None


class StaffList(WireModel):
    """Staff and teams of the organisation."""

    staff: list[StaffOut]
    teams: list[TeamOut]


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

    tablets: list[TabletRow]


class AuditList(WireModel):
    """Audit events, newest first."""

    events: list[AuditRow]


def _wire(model: type[W], value: object) -> W:
    """A service's plain value as its wire model (same field names)."""
    return model.model_validate(value, from_attributes=True)


@api.get("/api/admin/settings", response=OrgSettings, summary="Organisation settings")
async def get_settings(request: web.Request) -> OrgSettings:
    """Ring timeout, auto-answer defaults, the retry ladder and the outcome edit window."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        return await orgsettings.load(session, identity.organisation_id)


@api.post(
    "/api/admin/settings",
    body=OrgSettings,
    response=OrgSettings,
    summary="Change settings",
    roles=(Role.ADMIN,),
)
async def put_settings(request: web.Request, body: OrgSettings) -> OrgSettings:
    """Store the organisation's settings (audited with the new values)."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        saved = await orgsettings.save(session, identity.organisation_id, body)
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
        people = await staff.staff_list(session, identity.organisation_id)
        teams = await staff.team_list(session, identity.organisation_id)
    return StaffList(
        staff=[_wire(StaffOut, p) for p in people], teams=[_wire(TeamOut, t) for t in teams]
    )


@api.post(
    "/api/admin/staff",
    body=NewStaff,
    response=StaffOut,
    status=201,
    summary="New staff",
    roles=(Role.ADMIN,),
)
async def create_staff(request: web.Request, body: NewStaff) -> StaffOut:
    """Create a staff member in teams of this organisation."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        member = await staff.create_staff(
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
            subject=("staff", member.id),
            detail={"username": body.username, "role": body.role.value, "teams": body.team_ids},
            request=request,
        )
        return StaffOut(
            id=member.id,
            username=member.username,
            display_name=member.display_name,
            role=member.role,
            active=True,
            team_ids=sorted(body.team_ids),
        )


@api.post(
    r"/api/admin/staff/{staff_id:\d+}/active",
    body=ActiveChange,
    response=ActiveChange,
    summary="Deactivate or reactivate a staff member",
    roles=(Role.ADMIN,),
)
async def change_active(request: web.Request, body: ActiveChange) -> ActiveChange:
    """A deactivated staff member can no longer log in; existing sessions stop at once."""
    identity = require_staff(request, Role.ADMIN)
    staff_id = int(request.match_info["staff_id"])
    async with request.app[sessionmaker_key].begin() as session:
        await staff.set_active(session, identity, staff_id, body.active)
        action = "staff.activate" if body.active else "staff.deactivate"
        audit.record(session, action, actor=identity, subject=("staff", staff_id), request=request)
    if not body.active:
        await request.app[hub_key].close_staff(staff_id)
    return body


@api.post(
    "/api/admin/teams",
    body=NewTeam,
    response=TeamOut,
    status=201,
    summary="New team",
    roles=(Role.ADMIN,),
)
async def create_team(request: web.Request, body: NewTeam) -> TeamOut:
    """Create a team."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key].begin() as session:
        team = await staff.create_team(session, identity, body.name, body.phone)
        audit.record(
            session,
            "team.create",
            actor=identity,
            subject=("team", team.id),
            detail={"name": body.name},
            request=request,
        )
        return TeamOut(id=team.id, name=team.name, phone=team.phone)


@api.get("/api/admin/tablets", response=TabletList, summary="Tablets")
async def list_tablets(request: web.Request) -> TabletList:
    """Every tablet with its citizen and status."""
    identity = require_staff(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        rows = await tablets.tablet_list(session, identity.organisation_id)
    return TabletList(tablets=[_wire(TabletRow, t) for t in rows])


@api.get("/api/admin/audit", response=AuditList, summary="The audit log, filtered")
async def list_audit(request: web.Request) -> AuditList:
    """Newest first; filter by action prefix, actor, subject, since and until."""
    identity = require_staff(request, Role.ADMIN)
    flt = audit_filter(request)
    async with request.app[sessionmaker_key]() as session:
        rows = await auditlog.audit_rows(session, identity.organisation_id, flt)
    return AuditList(events=[_wire(AuditRow, r) for r in rows])
