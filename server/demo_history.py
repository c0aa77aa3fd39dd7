"""The demo's past: eight weeks of screen visits, so key figures and visit histories show
something a municipality recognises instead of empty charts.

Each citizen who consented to screen visits gets one screen visit a day at the time of their
first plan, rung by a contact person (now and then a colleague). Most are answered within the
window and documented as done; some are answered on a retry, a few declined or not answered and
escalated to the team. The mix is drawn from a generator seeded per citizen and day, so every
installation shows the same history. Laid out once (``seed-demo``); rows are marked by their
occurrence key and call id, and the outcomes are written as a nurse would have written them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import make_engine, make_sessionmaker
from .models import (
    Call,
    Citizen,
    Consent,
    ConsentKind,
    ContactPerson,
    InboxItem,
    Organisation,
    Outcome,
    Role,
    Staff,
    Visit,
    VisitPlan,
    utcnow,
)
from .sealing import Keyring
from .vocabulary import (
    CallState,
    Channel,
    EndReason,
    InboxKind,
    InboxState,
    OutcomeKind,
    VisitStatus,
)

KEY_PREFIX = "demo-history"
WEEKS = 8


@dataclass(frozen=True, slots=True)
class Day:
    """How one past visit went."""

    rings: tuple[tuple[int, EndReason, int], ...]  # (minutes after planned, end, call minutes)
    outcome: OutcomeKind | None
    colleague: bool  # rung by someone other than the contact person


def how_it_went(rng: random.Random) -> Day:
    """A plausible day: mostly on time and answered, sometimes a retry, rarely missed."""
    roll = rng.random()
    talk = rng.randint(3, 9)
    colleague = rng.random() < 0.12
    answered = EndReason.HANGUP
    rings: tuple[tuple[int, EndReason, int], ...]
    outcome: OutcomeKind | None = OutcomeKind.COMPLETED
    if roll < 0.80:  # on time
        rings = ((rng.randint(-5, 10), answered, talk),)
    elif roll < 0.88:  # answered on the ladder's retry, five minutes later
        start = rng.randint(0, 8)
        rings = ((start, EndReason.NO_ANSWER, 0), (start + 5, answered, talk))
    elif roll < 0.92:  # the nurse was late
        rings = ((rng.randint(16, 40), answered, talk),)
    elif roll < 0.95:
        rings = ((rng.randint(0, 5), EndReason.DECLINED, 0),)
        outcome = OutcomeKind.DECLINED
    else:  # not answered three times: missed and escalated
        rings = tuple((m, EndReason.NO_ANSWER, 0) for m in (0, 5, 10))
        outcome = None
    return Day(rings, outcome, colleague)


async def lay_out_demo_history(
    database_url: str, org_slug: str, zone: ZoneInfo, keyring: Keyring | None = None
) -> int:
    """The CLI's entry: the demo's past weeks, once; returns how many visits were added. The
    keyring seals and opens the notes it writes and reads (the CLI's data keys)."""
    engine = make_engine(database_url, keyring=keyring)
    try:
        async with make_sessionmaker(engine).begin() as session:
            return await add_history(session, org_slug, utcnow(), zone)
    finally:
        await engine.dispose()


async def add_history(
    session: AsyncSession, org_slug: str, now: dt.datetime, zone: ZoneInfo
) -> int:
    """Add the past weeks unless an earlier run did; returns how many visits were added."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    done_before = await session.scalar(
        select(Visit.id).where(Visit.occurrence_key.like(f"{KEY_PREFIX}:%")).limit(1)
    )
    if org is None or done_before is not None:
        return 0
    nurses = list(
        await session.scalars(
            select(Staff.id).where(Staff.organisation_id == org.id, Staff.role == Role.NURSE)
        )
    )
    today = now.astimezone(zone).date()
    added = 0
    for citizen, plan, contacts in await _citizens(session, org.id):
        callers = contacts or nurses
        for back in range(WEEKS * 7, 0, -1):
            day = today - dt.timedelta(days=back)
            rng = random.Random(f"{citizen.id}:{day.isoformat()}")
            went = how_it_went(rng)
            caller = rng.choice(nurses) if went.colleague else callers[0]
            planned = dt.datetime.combine(day, plan.local_time, zone).astimezone(dt.UTC)
            await _add_day(session, citizen, plan, caller, planned, went, org.id)
            added += 1
    return added


async def _citizens(
    session: AsyncSession, org_id: int
) -> list[tuple[Citizen, VisitPlan, list[int]]]:
    """Citizens with screen-visit consent, their earliest plan and their contact persons."""
    consenting = set(
        await session.scalars(
            select(Consent.citizen_id).where(Consent.in_force(ConsentKind.SCREEN_VISITS))
        )
    )
    found = []
    for citizen in await session.scalars(
        select(Citizen).where(Citizen.organisation_id == org_id).order_by(Citizen.id)
    ):
        plan = await session.scalar(
            select(VisitPlan)
            .where(VisitPlan.citizen_id == citizen.id)
            .order_by(VisitPlan.local_time, VisitPlan.id)
            .limit(1)
        )
        if citizen.id not in consenting or plan is None:
            continue
        contacts = await session.scalars(
            select(ContactPerson.staff_id)
            .where(ContactPerson.citizen_id == citizen.id)
            .order_by(ContactPerson.staff_id)
        )
        found.append((citizen, plan, list(contacts)))
    return found


async def _add_day(
    session: AsyncSession,
    citizen: Citizen,
    plan: VisitPlan,
    caller: int,
    planned: dt.datetime,
    day: Day,
    org_id: int,
) -> None:
    missed = day.outcome is None
    visit = Visit(
        occurrence_key=f"{KEY_PREFIX}:{citizen.id}:{planned.date().isoformat()}",
        citizen_id=citizen.id,
        visit_type_id=plan.visit_type_id,
        team_id=plan.team_id,
        assigned_staff_id=caller,
        planned_at=planned,
        window_min=plan.window_min,
        duration_min=plan.duration_min,
        channel=Channel.SCREEN,
        status=VisitStatus.MISSED if missed else VisitStatus.DONE,
        attempts=len(day.rings),
        created_at=planned - dt.timedelta(days=14),
    )
    session.add(visit)
    await session.flush()
    last_end = planned
    for index, (minutes, end, talk) in enumerate(day.rings):
        rang = planned + dt.timedelta(minutes=minutes)
        answered = rang + dt.timedelta(seconds=9) if end is EndReason.HANGUP else None
        last_end = (
            (answered + dt.timedelta(minutes=talk))
            if answered
            else rang + dt.timedelta(seconds=45 if end is EndReason.NO_ANSWER else 12)
        )
        session.add(
            Call(
                public_id=f"dh-{citizen.id}-{planned:%y%m%d}-{index}",
                citizen_id=citizen.id,
                visit_id=visit.id,
                caller_staff_id=caller,
                state=CallState.ENDED,
                ring_started_at=rang,
                answered_at=answered,
                ended_at=last_end,
                end_reason=end.value,
            )
        )
    if missed:
        session.add(
            InboxItem(
                organisation_id=org_id,
                team_id=plan.team_id,
                citizen_id=citizen.id,
                visit_id=visit.id,
                kind=InboxKind.MISSED_VISIT,
                message=f"{citizen.name} svarede ikke på skærmbesøget; en kollega tog forbi.",
                state=InboxState.DONE,
                created_at=last_end,
                closed_at=last_end + dt.timedelta(minutes=40),
                closed_by_staff_id=caller,
                note="Fysisk besøg: alt vel, tabletten var slukket.",
            )
        )
        return
    reason = "Ville ikke i dag" if day.outcome is OutcomeKind.DECLINED else None
    session.add(
        Outcome(
            visit_id=visit.id,
            kind=day.outcome,
            reason=reason,
            author_staff_id=caller,
            recorded_at=last_end + dt.timedelta(minutes=2),
        )
    )
