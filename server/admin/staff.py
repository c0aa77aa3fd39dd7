"""Staff and teams of an organisation: lists, new staff and teams, deactivation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.sessions import close_all_sessions
from ..errors import Conflict, InvalidInput, NotFound
from ..identity import StaffIdentity
from ..models import Staff, Team, TeamMembership
from ..security import hash_password_off_loop
from ..translatable import N_
from ..vocabulary import Role


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A staff member with their teams."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    team_ids: list[int]


@dataclass(frozen=True, slots=True)
class TeamRow:
    """A team."""

    id: int
    name: str
    phone: str | None


async def staff_list(session: AsyncSession, org_id: int) -> list[StaffRow]:
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
        StaffRow(
            id=p.id,
            username=p.username,
            display_name=p.display_name,
            role=p.role,
            active=p.active,
            team_ids=sorted(teams.get(p.id, [])),
        )
        for p in people
    ]


async def team_list(session: AsyncSession, org_id: int) -> list[TeamRow]:
    """The organisation's teams, by name."""
    rows = await session.scalars(
        select(Team).where(Team.organisation_id == org_id).order_by(Team.name)
    )
    return [TeamRow(id=t.id, name=t.name, phone=t.phone) for t in rows]


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
    taken = select(Staff.id).where(
        Staff.organisation_id == admin.organisation_id, Staff.username == username
    )
    if await session.scalar(taken) is not None:  # only her own organisation's names count
        raise Conflict(N_("Brugernavnet er optaget."))
    own = set(
        await session.scalars(select(Team.id).where(Team.organisation_id == admin.organisation_id))
    )
    if not set(team_ids) <= own:
        raise InvalidInput(N_("Teamet findes ikke."))
    staff = Staff(
        organisation_id=admin.organisation_id,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=await hash_password_off_loop(password),
    )
    session.add(staff)
    try:
        await session.flush()
    except IntegrityError:  # taken by a request that won the race since the check above
        raise Conflict(N_("Brugernavnet er optaget.")) from None
    session.add_all(TeamMembership(staff_id=staff.id, team_id=t) for t in team_ids)
    return staff


async def set_active(
    session: AsyncSession, admin: StaffIdentity, staff_id: int, active: bool
) -> Staff:
    """Deactivate (or reactivate) a staff member; their sessions stop working at once."""
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.organisation_id != admin.organisation_id:
        raise NotFound(N_("Medarbejderen findes ikke."))
    if staff.id == admin.staff_id and not active:
        raise InvalidInput(N_("Du kan ikke deaktivere dig selv."))
    staff.active = active
    if not active:
        # Gone for good, not just refused while inactive: a reactivation must not bring an
        # old cookie (on a lost phone, a shared PC) back to life.
        await close_all_sessions(session, staff.id)
    return staff


async def create_team(
    session: AsyncSession, admin: StaffIdentity, name: str, phone: str | None
) -> Team:
    """A new team in the admin's organisation."""
    exists = await session.scalar(
        select(Team.id).where(Team.organisation_id == admin.organisation_id, Team.name == name)
    )
    if exists is not None:
        raise Conflict(N_("Der findes allerede et team med det navn."))
    team = Team(organisation_id=admin.organisation_id, name=name, phone=phone)
    session.add(team)
    await session.flush()
    return team
