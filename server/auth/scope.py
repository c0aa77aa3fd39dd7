"""Which citizens and teams a staff member may see: the SQL conditions and checks of scope.

Visitators, planners and administrators see their whole organisation; nurses and carers see
the citizens of their teams and those they are contact person for, and their own teams.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import StaffIdentity
from ..models import Citizen, ContactPerson, Team


def citizen_scope(identity: StaffIdentity) -> ColumnElement[bool]:
    """SQL condition selecting exactly the citizens ``identity`` may see."""
    same_org = Citizen.organisation_id == identity.organisation_id
    if identity.org_wide:
        return same_org
    is_contact = exists().where(
        ContactPerson.citizen_id == Citizen.id, ContactPerson.staff_id == identity.staff_id
    )
    return same_org & or_(Citizen.team_id.in_(identity.team_ids), is_contact)


async def visible_citizen_ids(
    session: AsyncSession, identity: StaffIdentity, citizen_ids: Iterable[int]
) -> list[int]:
    """The subset of ``citizen_ids`` this staff member may see."""
    ids = list(citizen_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(Citizen.id).where(Citizen.id.in_(ids), citizen_scope(identity))
    )
    return list(rows)


def team_visible(identity: StaffIdentity, team: Team) -> bool:
    """Own teams always; organisation-wide roles every team of their own organisation."""
    if team.organisation_id != identity.organisation_id:
        return False
    return identity.org_wide or team.id in identity.team_ids


async def visible_teams(session: AsyncSession, identity: StaffIdentity) -> list[Team]:
    """The teams of the caller's organisation that the caller may see, by name."""
    teams = await session.scalars(
        select(Team).where(Team.organisation_id == identity.organisation_id).order_by(Team.name)
    )
    return [team for team in teams if team_visible(identity, team)]


async def may_see_team(session: AsyncSession, identity: StaffIdentity, team_id: int) -> bool:
    """Whether the team with this id is one the caller may see."""
    team = await session.get(Team, team_id)
    return team is not None and team_visible(identity, team)
