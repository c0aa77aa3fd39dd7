"""A small organisation for scheduling tests: one team, a nurse, a carer, citizens, visit types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from server.models import (
    Channel,
    Citizen,
    ContactPerson,
    KioskDevice,
    Organisation,
    Role,
    Staff,
    Team,
    TeamMembership,
    VisitPlan,
    VisitType,
)

TYPES: tuple[tuple[str, str, bool, list[str], int, int], ...] = (
    # code, Danish name, non-swappable, qualified roles, retries, delay
    ("medication", "Medicin", True, ["nurse"], 2, 5),
    ("reassurance", "Tryghedsopkald", False, [], 2, 5),
    ("bath", "Bad", False, [], 1, 5),
)


@dataclass
class World:
    """Ids of what `make_world` created."""

    org_id: int
    team_id: int
    nurse_id: int
    carer_id: int
    types: dict[str, int]
    citizens: list[int] = field(default_factory=list)


async def make_world(session: AsyncSession, citizens: int = 1, slug: str = "test") -> World:
    """An organisation with one team, a nurse and a carer, and `citizens` citizens with tablets."""
    org = Organisation(slug=slug, name="Test Kommune")
    session.add(org)
    await session.flush()
    team = Team(organisation_id=org.id, name="Team Test")
    session.add(team)
    await session.flush()
    nurse = _staff(org.id, f"{slug}-nurse", "Anna Test", Role.NURSE)
    carer = _staff(org.id, f"{slug}-carer", "Carla Test", Role.CARER)
    session.add_all([nurse, carer])
    await session.flush()
    session.add_all(TeamMembership(staff_id=s.id, team_id=team.id) for s in (nurse, carer))
    types = [
        VisitType(
            organisation_id=org.id,
            code=code,
            name_da=da,
            name_en=code,
            non_swappable=ns,
            qualified_roles=roles,
            retry_count=retries,
            retry_delay_min=delay,
        )
        for code, da, ns, roles, retries, delay in TYPES
    ]
    session.add_all(types)
    await session.flush()
    world = World(org.id, team.id, nurse.id, carer.id, {t.code: t.id for t in types})
    for index in range(citizens):
        world.citizens.append(await add_citizen(session, world, f"Borger {index}"))
    return world


def _staff(org_id: int, username: str, name: str, role: Role) -> Staff:
    return Staff(
        organisation_id=org_id, username=username, display_name=name, role=role, password_hash="x"
    )


async def add_citizen(session: AsyncSession, world: World, name: str) -> int:
    """A citizen in the world's team with the carer as contact person and an enrolled tablet."""
    citizen = Citizen(organisation_id=world.org_id, team_id=world.team_id, name=name)
    session.add(citizen)
    await session.flush()
    session.add(ContactPerson(citizen_id=citizen.id, staff_id=world.carer_id, priority=1))
    session.add(
        KioskDevice(organisation_id=world.org_id, citizen_id=citizen.id, label=f"Tablet {name}")
    )
    await session.flush()
    return citizen.id


async def add_plan(
    session: AsyncSession,
    world: World,
    citizen_id: int,
    code: str,
    at: dt.time,
    rrule: str = "FREQ=DAILY",
    valid_from: dt.date = dt.date(2026, 1, 1),
    channels: dict[str, str] | None = None,
    window: int = 15,
) -> int:
    """A plan for the citizen; its id."""
    plan = VisitPlan(
        citizen_id=citizen_id,
        visit_type_id=world.types[code],
        team_id=world.team_id,
        rrule=rrule,
        local_time=at,
        window_min=window,
        duration_min=5,
        channel_by_weekday=channels or {},
        default_channel=Channel.SCREEN,
        valid_from=valid_from,
    )
    session.add(plan)
    await session.flush()
    return plan.id
