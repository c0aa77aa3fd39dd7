"""The database side of an import: what the checks look up, and writing checked lines in batches.

A batch is a few citizens with all their lines, written in one short transaction with a
handful of set-wise queries (refs, citizens, plans, contact persons, consents) instead of a
few queries per line, so SQLite's single writer is held for milliseconds at a time and a
5,000-line file does not take minutes. Rows are matched by their care-record `ExternalRef`,
so writing a batch twice (a job that failed half-way and is run again) changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Citizen,
    Consent,
    ContactPerson,
    ExternalRef,
    Staff,
    Team,
    VisitPlan,
    VisitType,
    utcnow,
)
from ..vocabulary import ConsentKind
from .importer import CitizenIn, ImportLine, Lookups, PlanIn, TypeInfo

CITIZEN = "citizen"
PLAN = "plan"


async def lookups(
    session: AsyncSession, org_id: int, zone: ZoneInfo, horizon: tuple[dt.date, dt.date]
) -> Lookups:
    """The organisation's names, existing plan types and screen-visit consents, by export ref."""
    teams = await session.execute(select(Team.name, Team.id).where(Team.organisation_id == org_id))
    types = await session.execute(
        select(VisitType.code, VisitType.id, VisitType.non_swappable).where(
            VisitType.organisation_id == org_id
        )
    )
    staff = await session.execute(
        select(Staff.username, Staff.id).where(Staff.organisation_id == org_id)
    )
    return Lookups(
        teams={n: i for n, i in teams},
        types={code: TypeInfo(i, strict) for code, i, strict in types},
        staff={n: i for n, i in staff},
        zone=zone,
        horizon=horizon,
        plan_types=await _plan_types(session, org_id),
        screen_consent=await _screen_consents(session, org_id),
    )


async def _plan_types(session: AsyncSession, org_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(ExternalRef.external_id, VisitType.code)
        .join(VisitPlan, VisitPlan.id == ExternalRef.local_id)
        .join(VisitType, VisitType.id == VisitPlan.visit_type_id)
        .where(ExternalRef.organisation_id == org_id, ExternalRef.kind == PLAN)
    )
    return {ref: code for ref, code in rows}


async def _screen_consents(session: AsyncSession, org_id: int) -> frozenset[str]:
    rows = await session.scalars(
        select(ExternalRef.external_id)
        .join(Consent, Consent.citizen_id == ExternalRef.local_id)
        .where(
            ExternalRef.organisation_id == org_id,
            ExternalRef.kind == CITIZEN,
            Consent.in_force(ConsentKind.SCREEN_VISITS),
            Consent.relative_id.is_(None),
        )
    )
    return frozenset(rows)


@dataclass(slots=True)
class CitizenGroup:
    """One citizen's lines: the first describes the citizen, consents come from all of them."""

    ref: str
    lines: list[ImportLine] = field(default_factory=list)

    @property
    def citizen(self) -> CitizenIn:
        """The citizen as its first line describes them."""
        first = self.lines[0].citizen
        assert first is not None  # only checked (valid) lines are grouped
        return first

    @property
    def plans(self) -> list[PlanIn]:
        """The group's plans in file order."""
        return [line.plan for line in self.lines if line.plan is not None]

    def consents(self) -> tuple[set[ConsentKind], str]:
        """The consent kinds any of the lines carries, and who gave them."""
        kinds: set[ConsentKind] = set()
        given_by = ""
        for line in self.lines:
            if line.citizen is not None and line.citizen.consents:
                kinds |= {ConsentKind(kind) for kind in line.citizen.consents}
                given_by = given_by or (line.citizen.consent_given_by or "")
        return kinds, given_by


def batches(lines: Iterable[ImportLine], size: int) -> Iterator[list[CitizenGroup]]:
    """Citizens in file order, grouped with all their lines, in batches of about `size` lines."""
    groups: dict[str, CitizenGroup] = {}
    for line in lines:
        assert line.citizen is not None
        groups.setdefault(line.citizen.ref, CitizenGroup(line.citizen.ref)).lines.append(line)
    batch: list[CitizenGroup] = []
    count = 0
    for group in groups.values():
        batch.append(group)
        count += len(group.lines)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch wrote."""

    citizen_ids: list[int]
    plan_ids: list[int]
    consents: int


@dataclass(frozen=True, slots=True)
class Writer:
    """Writes checked batches for one organisation, recording consents as one staff member."""

    org_id: int
    found: Lookups
    staff_id: int | None

    async def write(self, session: AsyncSession, batch: Sequence[CitizenGroup]) -> Written:
        """Create or update the batch's citizens, contact persons, consents and plans."""
        citizens = await self._citizens(session, batch)
        await self._contact_persons(session, batch, citizens)
        consents = await self._consents(session, batch, citizens)
        plan_ids = await self._plans(session, batch, citizens)
        return Written([citizens[g.ref].id for g in batch], plan_ids, consents)

    async def _refs(self, session: AsyncSession, kind: str, refs: Sequence[str]) -> dict[str, int]:
        rows = await session.execute(
            select(ExternalRef.external_id, ExternalRef.local_id).where(
                ExternalRef.organisation_id == self.org_id,
                ExternalRef.kind == kind,
                ExternalRef.external_id.in_(refs),
            )
        )
        return {ref: local for ref, local in rows}

    async def _citizens(
        self, session: AsyncSession, batch: Sequence[CitizenGroup]
    ) -> dict[str, Citizen]:
        known = await self._refs(session, CITIZEN, [g.ref for g in batch])
        rows = await session.scalars(select(Citizen).where(Citizen.id.in_(known.values())))
        by_id = {c.id: c for c in rows}
        citizens: dict[str, Citizen] = {}
        for group in batch:
            data = group.citizen
            citizen = by_id.get(known.get(group.ref, -1))
            if citizen is None:
                citizen = Citizen(organisation_id=self.org_id, name=data.name)
                session.add(citizen)
            citizen.name, citizen.team_id = data.name, self.found.teams[data.team]
            citizen.preferred_name = data.preferred_name
            citizens[group.ref] = citizen
        await session.flush()
        self._add_refs(session, CITIZEN, {r: c.id for r, c in citizens.items() if r not in known})
        return citizens

    def _add_refs(self, session: AsyncSession, kind: str, new: dict[str, int]) -> None:
        session.add_all(
            ExternalRef(organisation_id=self.org_id, kind=kind, external_id=ref, local_id=local)
            for ref, local in new.items()
        )

    async def _contact_persons(
        self, session: AsyncSession, batch: Sequence[CitizenGroup], citizens: dict[str, Citizen]
    ) -> None:
        ids = [c.id for c in citizens.values()]
        rows = await session.execute(
            select(ContactPerson.citizen_id, ContactPerson.staff_id).where(
                ContactPerson.citizen_id.in_(ids)
            )
        )
        existing = {(citizen_id, staff_id) for citizen_id, staff_id in rows}
        for group in batch:
            citizen_id = citizens[group.ref].id
            for priority, username in enumerate(group.citizen.contact_persons, start=1):
                staff_id = self.found.staff[username]
                if (citizen_id, staff_id) not in existing:
                    existing.add((citizen_id, staff_id))
                    session.add(
                        ContactPerson(citizen_id=citizen_id, staff_id=staff_id, priority=priority)
                    )

    async def _consents(
        self, session: AsyncSession, batch: Sequence[CitizenGroup], citizens: dict[str, Citizen]
    ) -> int:
        """Record the file's consents a citizen does not already have (active, their own)."""
        ids = [c.id for c in citizens.values()]
        rows = await session.execute(
            select(Consent.citizen_id, Consent.kind).where(
                Consent.citizen_id.in_(ids),
                Consent.relative_id.is_(None),
                Consent.withdrawn_at.is_(None),
            )
        )
        active = {(citizen_id, kind) for citizen_id, kind in rows}
        added = 0
        for group in batch:
            citizen_id = citizens[group.ref].id
            kinds, given_by = group.consents()
            for kind in sorted(kinds):
                if (citizen_id, kind) in active:
                    continue
                session.add(
                    Consent(
                        citizen_id=citizen_id,
                        kind=kind,
                        scope={},
                        granted_by=given_by,
                        recorded_by_staff_id=self.staff_id,
                    )
                )
                added += 1
        return added

    async def _plans(
        self, session: AsyncSession, batch: Sequence[CitizenGroup], citizens: dict[str, Citizen]
    ) -> list[int]:
        pairs = [(group, plan) for group in batch for plan in group.plans]
        known = await self._refs(session, PLAN, [plan.ref for _, plan in pairs])
        rows = await session.scalars(select(VisitPlan).where(VisitPlan.id.in_(known.values())))
        by_id = {p.id: p for p in rows}
        plans: dict[str, VisitPlan] = {}
        for group, data in pairs:
            plan = by_id.get(known.get(data.ref, -1))
            if plan is None:
                plan = VisitPlan()
                session.add(plan)
            else:
                plan.updated_at = utcnow()
            for name, value in self._plan_values(citizens[group.ref].id, group, data).items():
                setattr(plan, name, value)
            plans[data.ref] = plan
        await session.flush()
        self._add_refs(session, PLAN, {r: p.id for r, p in plans.items() if r not in known})
        await session.flush()
        return [p.id for p in plans.values()]

    def _plan_values(self, citizen_id: int, group: CitizenGroup, data: PlanIn) -> dict[str, Any]:
        return {
            "citizen_id": citizen_id,
            "visit_type_id": self.found.types[data.visit_type].id,
            "team_id": self.found.teams[group.citizen.team],
            "rrule": data.rrule,
            "local_time": data.time,
            "window_min": data.window_min,
            "duration_min": data.duration_min,
            "channel_by_weekday": {k: v.value for k, v in data.channels.items()},
            "default_channel": data.default_channel,
            "valid_from": data.valid_from,
            "valid_to": data.valid_to,
        }
