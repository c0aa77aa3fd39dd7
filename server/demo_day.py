"""The demo's "today", whatever the hour: every journey can be tried the moment the demo starts.

Plans recur at fixed times (08:00 medication, 15:00 reassurance…), so at 22:00 a nurse's day
list would hold only missed and finished visits, and nothing would be ringable for hours. Each
time the demo starts, every demo nurse gets (once per hour of the clock):

* a visit an hour and a half ago, already documented as done by her;
* a screen visit starting in a few minutes, for a citizen of hers who consented to
  auto-answer, so a call is answered on the tablet by itself inside its window;
* two visits later on.

They are one-off visits (no plan), so regenerating the plans never cancels them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import make_engine, make_sessionmaker
from .identity import StaffIdentity
from .models import (
    Channel,
    Citizen,
    Consent,
    ConsentKind,
    ContactPerson,
    Organisation,
    OutcomeKind,
    Role,
    Staff,
    Visit,
    VisitType,
    utcnow,
)
from .sealing import Keyring
from .visits import outcomes

KEY_PREFIX = "demo-day"


@dataclass(frozen=True, slots=True)
class Slot:
    """One visit of a nurse's demo day, relative to the moment the demo starts."""

    name: str
    offset: dt.timedelta
    visit_type: str
    auto_answer: bool = False  # for a citizen who consented to auto-answer
    documented: bool = False


SLOTS = (
    Slot("past", dt.timedelta(minutes=-90), "reassurance", documented=True),
    Slot("now", dt.timedelta(minutes=3), "reassurance", auto_answer=True),
    Slot("later", dt.timedelta(minutes=75), "meal_drink"),
    Slot("evening", dt.timedelta(hours=3), "reassurance"),
)


async def lay_out_demo_day(database_url: str, org_slug: str, keyring: Keyring | None = None) -> int:
    """The CLI's entry: this hour's demo visits in their own transaction; returns how many.
    The keyring opens the citizens' sealed text (the CLI's data keys)."""
    engine = make_engine(database_url, keyring=keyring)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await refresh_demo_day(session, org_slug, utcnow())
    finally:
        await engine.dispose()


async def refresh_demo_day(session: AsyncSession, org_slug: str, now: dt.datetime) -> int:
    """Add this hour's demo visits for every nurse of the demo organisation; returns how many."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        return 0
    types = {
        t.code: t
        for t in await session.scalars(select(VisitType).where(VisitType.organisation_id == org.id))
    }
    nurses = await session.scalars(
        select(Staff)
        .where(Staff.organisation_id == org.id, Staff.role == Role.NURSE, Staff.active.is_(True))
        .order_by(Staff.id)
    )
    added = 0
    for nurse in list(nurses):
        added += await _nurse_day(session, nurse, types, now)
    return added


async def _nurse_day(
    session: AsyncSession, nurse: Staff, types: dict[str, VisitType], now: dt.datetime
) -> int:
    """The nurse's slots for this hour, unless an earlier start this hour added them."""
    hour = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")
    key = f"{KEY_PREFIX}:{hour}:{nurse.id}"
    exists = await session.scalar(
        select(Visit.id).where(Visit.plan_id.is_(None), Visit.occurrence_key.like(f"{key}:%"))
    )
    citizens = await _her_citizens(session, nurse.id)
    if exists is not None or not citizens:
        return 0
    consenting = await _auto_answer_citizens(session, [c.id for c in citizens])
    added = 0
    for index, slot in enumerate(SLOTS):
        vtype = types.get(slot.visit_type)
        if vtype is None:
            continue
        pool = [c for c in citizens if c.id in consenting] if slot.auto_answer else citizens
        citizen = (pool or citizens)[index % len(pool or citizens)]
        visit = Visit(
            occurrence_key=f"{key}:{slot.name}",
            citizen_id=citizen.id,
            visit_type_id=vtype.id,
            team_id=citizen.team_id,
            assigned_staff_id=nurse.id,
            planned_at=now + slot.offset,
            window_min=15,
            duration_min=vtype.default_duration_min,
            channel=Channel.SCREEN,
        )
        session.add(visit)
        await session.flush()
        if slot.documented:
            await _document(session, nurse, visit, now + slot.offset)
        added += 1
    return added


async def _her_citizens(session: AsyncSession, staff_id: int) -> list[Citizen]:
    """Citizens the nurse is a contact person of, who consented to screen visits, by name."""
    rows = await session.scalars(
        select(Citizen)
        .join(ContactPerson, ContactPerson.citizen_id == Citizen.id)
        .join(Consent, Consent.citizen_id == Citizen.id)
        .where(
            ContactPerson.staff_id == staff_id,
            Consent.in_force(ConsentKind.SCREEN_VISITS),
        )
        .order_by(Citizen.name)
    )
    return list(rows.unique())


async def _auto_answer_citizens(session: AsyncSession, citizen_ids: list[int]) -> set[int]:
    """Which of these citizens have an active auto-answer consent."""
    rows = await session.scalars(
        select(Consent.citizen_id).where(
            Consent.citizen_id.in_(citizen_ids),
            Consent.in_force(ConsentKind.AUTO_ANSWER),
        )
    )
    return set(rows)


async def _document(session: AsyncSession, nurse: Staff, visit: Visit, at: dt.datetime) -> None:
    """Record the past visit as done by the nurse, through the one outcome writer."""
    identity = StaffIdentity(
        staff_id=nurse.id,
        organisation_id=nurse.organisation_id,
        username=nurse.username,
        display_name=nurse.display_name,
        role=nurse.role,
        team_ids=frozenset(),
        session_id=0,
        csrf_token="",
    )
    data = outcomes.OutcomeInput(kind=OutcomeKind.COMPLETED, reason=None)
    await outcomes.record(session, identity, visit, data, now=at)
