"""Who should make a visit: contact persons first, then the team members who know the citizen.

The ranking (PRODUCT.md rule 3) is: the citizen's contact persons in priority order, then the
members of the visit's team ordered by how many of the citizen's visits they made in the last
30 days, then by name. Only active staff in a qualified role may take a visit whose type names
qualified roles (medication needs a nurse). For a citizen flagged "few new faces" only familiar
staff are candidates: the contact persons and those who made one of the citizen's visits in the
last 30 days. Nobody suitable means no choice (None): the caller raises that, never hides it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..errors import Forbidden
from ..identity import StaffIdentity
from ..models import Citizen, ContactPerson, Staff, TeamMembership, Visit, VisitStatus
from ..translatable import N_
from ..vocabulary import Role

RECENT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Candidate:
    """A staff member who may take a visit."""

    staff_id: int
    role: str
    name: str


@dataclass(slots=True)
class Continuity:
    """Preloaded facts for ranking staff for many visits without a query per visit."""

    contacts: dict[int, list[Candidate]] = field(default_factory=dict)  # citizen → by priority
    members: dict[int, list[Candidate]] = field(default_factory=dict)  # team → by name
    recent: dict[int, Counter[int]] = field(default_factory=dict)  # citizen → staff → visits
    few_new_faces: set[int] = field(default_factory=set)  # citizens who keep to familiar staff

    def ranked(
        self, citizen_id: int, team_id: int, qualified_roles: Sequence[str] = ()
    ) -> list[Candidate]:
        """Qualified candidates, best first (see the module rules)."""
        counts = self.recent.get(citizen_id, Counter())
        team = sorted(
            self.members.get(team_id, []), key=lambda c: (-counts[c.staff_id], c.name, c.staff_id)
        )
        seen: set[int] = set()
        result = []
        familiar_only = citizen_id in self.few_new_faces
        for candidate in [*self.contacts.get(citizen_id, []), *team]:
            if candidate.staff_id in seen or not qualified(candidate.role, qualified_roles):
                continue
            if familiar_only and not self.familiar(citizen_id, candidate.staff_id):
                continue
            seen.add(candidate.staff_id)
            result.append(candidate)
        return result

    def familiar(self, citizen_id: int, staff_id: int) -> bool:
        """A contact person of the citizen, or someone who visited them in the last 30 days."""
        if self.is_contact(citizen_id, staff_id):
            return True
        return self.recent.get(citizen_id, Counter())[staff_id] > 0

    def is_contact(self, citizen_id: int, staff_id: int) -> bool:
        """Whether the staff member is one of the citizen's (active) contact persons."""
        return any(c.staff_id == staff_id for c in self.contacts.get(citizen_id, ()))

    def choose(
        self,
        citizen_id: int,
        team_id: int,
        qualified_roles: Sequence[str] = (),
        exclude: Collection[int] = (),
    ) -> int | None:
        """The best qualified staff member not in `exclude`, or None."""
        for candidate in self.ranked(citizen_id, team_id, qualified_roles):
            if candidate.staff_id not in exclude:
                return candidate.staff_id
        return None


def qualified(role: str, qualified_roles: Sequence[str]) -> bool:
    """Whether a role may take a visit type; an empty list means anyone may."""
    return not qualified_roles or role in qualified_roles


async def load_continuity(
    session: AsyncSession, now: dt.datetime, citizen_ids: Collection[int] | None = None
) -> Continuity:
    """Contact persons, team members, 30 days of visit history and the few-new-faces flags."""
    result = Continuity()
    contacts = (
        select(ContactPerson.citizen_id, Staff.id, Staff.role, Staff.display_name)
        .join(Staff, Staff.id == ContactPerson.staff_id)
        .where(Staff.active.is_(True))
        .order_by(ContactPerson.citizen_id, ContactPerson.priority, Staff.id)
    )
    recent = (
        select(Visit.citizen_id, Visit.assigned_staff_id, func.count())
        .where(
            Visit.status == VisitStatus.DONE,
            Visit.assigned_staff_id.is_not(None),
            Visit.planned_at >= now - dt.timedelta(days=RECENT_DAYS),
            Visit.planned_at <= now,
        )
        .group_by(Visit.citizen_id, Visit.assigned_staff_id)
    )
    if citizen_ids is not None:
        contacts = contacts.where(ContactPerson.citizen_id.in_(citizen_ids))
        recent = recent.where(Visit.citizen_id.in_(citizen_ids))
    by_citizen: defaultdict[int, list[Candidate]] = defaultdict(list)
    for citizen_id, staff_id, role, name in await session.execute(contacts):
        by_citizen[citizen_id].append(Candidate(staff_id, role.value, name))
    result.contacts = dict(by_citizen)
    history: defaultdict[int, Counter[int]] = defaultdict(Counter)
    for visited, visitor, count in await session.execute(recent):
        if visitor is not None:
            history[visited][visitor] = count
    result.recent = dict(history)
    result.members = await _team_members(session)
    result.few_new_faces = await _few_new_faces(session, citizen_ids)
    return result


async def _few_new_faces(session: AsyncSession, citizen_ids: Collection[int] | None) -> set[int]:
    """The citizens (of those asked about) who do not tolerate new faces."""
    query = select(Citizen.id).where(Citizen.few_new_faces.is_(True))
    if citizen_ids is not None:
        query = query.where(Citizen.id.in_(citizen_ids))
    return set(await session.scalars(query))


async def _team_members(session: AsyncSession) -> dict[int, list[Candidate]]:
    """Active members of every team, by name."""
    rows = await session.execute(
        select(TeamMembership.team_id, Staff.id, Staff.role, Staff.display_name)
        .join(Staff, Staff.id == TeamMembership.staff_id)
        .where(Staff.active.is_(True))
        .order_by(Staff.display_name, Staff.id)
    )
    members: defaultdict[int, list[Candidate]] = defaultdict(list)
    for team_id, staff_id, role, name in rows:
        members[team_id].append(Candidate(staff_id, role.value, name))
    return dict(members)


FEW_NEW_FACES_ROLES = frozenset({Role.NURSE, Role.PLANNER, Role.VISITATOR})


async def set_few_new_faces(
    session: AsyncSession, identity: StaffIdentity, citizen: Citizen, on: bool
) -> bool:
    """Set or clear the citizen's "few new faces" flag (audited); whether it changed."""
    if identity.role not in FEW_NEW_FACES_ROLES:
        raise Forbidden(
            N_("Kun en sygeplejerske, en planlægger eller en visitator må ændre dette.")
        )
    if citizen.few_new_faces == on:
        return False
    citizen.few_new_faces = on
    audit.record(
        session,
        "citizen.few_new_faces",
        actor=identity,
        subject=("citizen", citizen.id),
        detail={"few_new_faces": on},
    )
    return True


async def few_new_faces_citizens(
    session: AsyncSession, scope: ColumnElement[bool]
) -> list[tuple[int, str]]:
    """The citizens within ``scope`` (the caller's ``citizen_scope``) flagged "few new faces"."""
    rows = await session.execute(
        select(Citizen.id, Citizen.name)
        .where(Citizen.few_new_faces.is_(True), scope)
        .order_by(Citizen.name, Citizen.id)
    )
    return [(citizen_id, name) for citizen_id, name in rows]
