"""A citizen's 1–3 contact persons (kontaktpersoner): active staff of the citizen's team.

The planner sets them on the plan page; the list replaces the old one in priority order and
the caller audits old → new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import InvalidInput
from ..models import Citizen, ContactPerson, Staff, TeamMembership
from ..translatable import N_

MAX_CONTACT_PERSONS = 3


class ContactPersonsInvalid(InvalidInput):
    """The list names someone twice, too many, or someone outside the citizen's team."""

    code = "contact_persons_invalid"
    default_message = N_(
        "Kontaktpersoner er 1–3 aktive medarbejdere i borgerens team, hver kun én gang."
    )


@dataclass(frozen=True, slots=True)
class Person:
    """A contact person or a candidate: staff id and name."""

    staff_id: int
    display_name: str


async def contact_persons(session: AsyncSession, citizen_id: int) -> list[Person]:
    """The citizen's contact persons, most responsible first."""
    rows = await session.execute(
        select(Staff.id, Staff.display_name)
        .join(ContactPerson, ContactPerson.staff_id == Staff.id)
        .where(ContactPerson.citizen_id == citizen_id)
        .order_by(ContactPerson.priority, ContactPerson.id)
    )
    return [Person(staff_id, name) for staff_id, name in rows]


async def candidates(session: AsyncSession, citizen: Citizen) -> list[Person]:
    """Who may be a contact person: the active staff of the citizen's team, by name."""
    rows = await session.execute(
        select(Staff.id, Staff.display_name)
        .join(TeamMembership, TeamMembership.staff_id == Staff.id)
        .where(TeamMembership.team_id == citizen.team_id, Staff.active.is_(True))
        .order_by(Staff.display_name)
    )
    return [Person(staff_id, name) for staff_id, name in rows]


async def set_contact_persons(
    session: AsyncSession, citizen: Citizen, staff_ids: Sequence[int]
) -> tuple[list[Person], list[Person]]:
    """Replace the contact persons (first = priority 1); returns (before, after)."""
    allowed = {p.staff_id: p for p in await candidates(session, citizen)}
    unknown = [i for i in staff_ids if i not in allowed]
    if not 1 <= len(staff_ids) <= MAX_CONTACT_PERSONS or len(set(staff_ids)) != len(staff_ids):
        raise ContactPersonsInvalid(details={"staff_ids": list(staff_ids)})
    if unknown:
        raise ContactPersonsInvalid(
            N_("Kontaktpersoner skal være aktive medarbejdere i borgerens team."),
            details={"unknown": unknown},
        )
    before = await contact_persons(session, citizen.id)
    await session.execute(delete(ContactPerson).where(ContactPerson.citizen_id == citizen.id))
    session.add_all(
        ContactPerson(citizen_id=citizen.id, staff_id=staff_id, priority=n)
        for n, staff_id in enumerate(staff_ids, start=1)
    )
    await session.flush()
    return before, [allowed[i] for i in staff_ids]
