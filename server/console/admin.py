"""Administration: staff and teams, tablets, organisation settings, the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import ColumnElement, String, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.identity import StaffIdentity
from ..errors import Conflict, InvalidInput, NotFound
from ..models import (
    AuditEvent,
    Citizen,
    KioskDevice,
    Organisation,
    Role,
    Staff,
    Team,
    TeamMembership,
)
from ..orgsettings import OrgSettings, merged, read_settings
from ..security import hash_password_off_loop

AUDIT_PAGE = 200
AUDIT_CSV_MAX = 50_000


class StaffOut(BaseModel):
    """A staff member with their teams."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    team_ids: list[int]


class TeamOut(BaseModel):
    """A team."""

    id: int
    name: str
    phone: str | None


class TabletRow(BaseModel):
    """A tablet of the organisation."""

    id: int
    label: str
    citizen_id: int | None
    citizen_name: str | None
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None


class AuditRow(BaseModel):
    """One audit event."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    detail: dict[str, object]
    remote: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the administrator narrowed the audit log to."""

    action: str | None = None
    actor: str | None = None
    subject_kind: str | None = None
    subject_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def staff_list(session: AsyncSession, org_id: int) -> list[StaffOut]:
    """Every staff member of the organisation, by name."""
    people = (
        await session.scalars(
            select(Staff).where(Staff.organisation_id == org_id).order_by(Staff.display_name)
        )
    ).all()
    memberships = await session.execute(
        select(TeamMembership.staff_id, TeamMembership.team_id).where(
            TeamMembership.staff_id.in_([p.id for p in people])
        )
    )
    teams: dict[int, list[int]] = {}
    for staff_id, team_id in memberships:
        teams.setdefault(staff_id, []).append(team_id)
    return [
        StaffOut(
            id=p.id,
            username=p.username,
            display_name=p.display_name,
            role=p.role,
            active=p.active,
            team_ids=sorted(teams.get(p.id, [])),
        )
        for p in people
    ]


async def team_list(session: AsyncSession, org_id: int) -> list[TeamOut]:
    """The organisation's teams, by name."""
    rows = await session.scalars(
        select(Team).where(Team.organisation_id == org_id).order_by(Team.name)
    )
    return [TeamOut(id=t.id, name=t.name, phone=t.phone) for t in rows]


async def create_staff(
    session: AsyncSession,
    admin: StaffIdentity,
    *,
    username: str,
    display_name: str,
    role: Role,
    team_ids: list[int],
    password: str,
) -> Staff:
    """A new staff member in the admin's organisation, in teams of that organisation only."""
    if await session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict("That username is taken.")
    own = set(
        await session.scalars(select(Team.id).where(Team.organisation_id == admin.organisation_id))
    )
    if not set(team_ids) <= own:
        raise InvalidInput("Unknown team.")
    staff = Staff(
        organisation_id=admin.organisation_id,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=await hash_password_off_loop(password),
    )
    session.add(staff)
    await session.flush()
    session.add_all(TeamMembership(staff_id=staff.id, team_id=t) for t in team_ids)
    return staff


async def set_active(
    session: AsyncSession, admin: StaffIdentity, staff_id: int, active: bool
) -> Staff:
    """Deactivate (or reactivate) a staff member; their sessions stop working at once."""
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.organisation_id != admin.organisation_id:
        raise NotFound("No such staff member.")
    if staff.id == admin.staff_id and not active:
        raise InvalidInput("You cannot deactivate yourself.")
    staff.active = active
    return staff


async def create_team(
    session: AsyncSession, admin: StaffIdentity, name: str, phone: str | None
) -> Team:
    """A new team in the admin's organisation."""
    exists = await session.scalar(
        select(Team.id).where(Team.organisation_id == admin.organisation_id, Team.name == name)
    )
    if exists is not None:
        raise Conflict("A team with that name exists.")
    team = Team(organisation_id=admin.organisation_id, name=name, phone=phone)
    session.add(team)
    await session.flush()
    return team


async def tablet_list(session: AsyncSession, org_id: int) -> list[TabletRow]:
    """Every tablet of the organisation with its citizen."""
    rows = await session.execute(
        select(KioskDevice, Citizen.name)
        .outerjoin(Citizen, Citizen.id == KioskDevice.citizen_id)
        .where(KioskDevice.organisation_id == org_id)
        .order_by(KioskDevice.label)
    )
    return [
        TabletRow(
            id=k.id,
            label=k.label,
            citizen_id=k.citizen_id,
            citizen_name=name,
            enrolled_at=k.enrolled_at,
            revoked_at=k.revoked_at,
            last_seen_at=k.last_seen_at,
        )
        for k, name in rows
    ]


async def get_settings(session: AsyncSession, org_id: int) -> OrgSettings:
    """The organisation's settings with defaults."""
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    return read_settings(org.settings)


async def save_settings(session: AsyncSession, org_id: int, new: OrgSettings) -> OrgSettings:
    """Store new settings, keeping keys other features keep in the same JSON."""
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    org.settings = merged(org.settings, new)
    return new


def _in_org(org_id: int) -> ColumnElement[bool]:
    # System events (the signalling server's "call.end") carry no organisation; they belong to
    # the organisation of the citizen they are about.
    own_citizens = select(cast(Citizen.id, String)).where(Citizen.organisation_id == org_id)
    return or_(
        AuditEvent.organisation_id == org_id,
        and_(
            AuditEvent.organisation_id.is_(None),
            AuditEvent.subject_kind == "citizen",
            AuditEvent.subject_id.in_(own_citizens),
        ),
    )


def _conditions(org_id: int, flt: AuditFilter) -> list[ColumnElement[bool]]:
    conds = [_in_org(org_id)]
    if flt.action:
        conds.append(AuditEvent.action.startswith(flt.action, autoescape=True))
    if flt.actor:
        conds.append(AuditEvent.actor.contains(flt.actor, autoescape=True))
    if flt.subject_kind:
        conds.append(AuditEvent.subject_kind == flt.subject_kind)
    if flt.subject_id:
        conds.append(AuditEvent.subject_id == flt.subject_id)
    if flt.since:
        conds.append(AuditEvent.at >= flt.since)
    if flt.until:
        conds.append(AuditEvent.at < flt.until)
    return conds


async def audit_rows(
    session: AsyncSession, org_id: int, flt: AuditFilter, limit: int = AUDIT_PAGE
) -> list[AuditRow]:
    """The newest audit events matching ``flt``."""
    rows = await session.scalars(
        select(AuditEvent)
        .where(*_conditions(org_id, flt))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [AuditRow.model_validate(e, from_attributes=True) for e in rows]


CSV_COLUMNS = ("id", "at", "actor", "action", "subject_kind", "subject_id", "remote", "detail")


def audit_csv(rows: list[AuditRow]) -> str:
    """The rows as CSV; cells that a spreadsheet would run as formulas are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow([_cell(data[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
