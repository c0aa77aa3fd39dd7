"""Over a simulated day with random failures and restarts, no visit is ever lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import make_engine, make_sessionmaker
from server.models import (
    Call,
    CallState,
    Channel,
    InboxItem,
    InboxKind,
    Outcome,
    OutcomeKind,
    Visit,
    VisitStatus,
)
from server.scheduling.jobs import Scheduler
from server.scheduling.notifier import LoggingNotifier
from server.sealing import development_keyring
from server.settings import Settings
from tests.databases import transaction
from tests.scheduling.world import add_plan, make_world

START = dt.datetime(2026, 3, 23, 5, 0, tzinfo=dt.UTC)  # Monday 06:00 in Copenhagen
STEP = dt.timedelta(minutes=5)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


def _scheduler(db_url: str) -> tuple[AsyncEngine, Scheduler]:
    """A fresh 'process': its own engine and scheduler, no state but the database."""
    engine = make_engine(db_url, keyring=development_keyring())
    settings = Settings(database_url=db_url, secret_key="t", physical_outcome_grace_min=60)
    return engine, Scheduler(settings, make_sessionmaker(engine), LoggingNotifier())


async def _act(db_url: str, now: dt.datetime, rng: random.Random, nurse_id: int) -> None:
    """The staff side: call visits in their window, with random answers, or forget them."""
    async with transaction(db_url) as session:
        visits = await session.scalars(
            select(Visit).where(Visit.status.in_((VisitStatus.PLANNED, VisitStatus.NOT_ANSWERED)))
        )
        for visit in visits:
            window = dt.timedelta(minutes=visit.window_min)
            in_window = visit.planned_at - window <= now <= visit.planned_at + window
            due = visit.next_attempt_at is None or visit.next_attempt_at <= now
            if not in_window or not due or rng.random() < 0.6:
                continue
            if visit.channel == Channel.PHYSICAL:
                if rng.random() < 0.6:
                    _document(session, visit, now)
                continue
            answer = rng.choices(["done", "no_answer", "declined"], [0.3, 0.5, 0.2])[0]
            call = Call(
                public_id=uuid.uuid4().hex,
                citizen_id=visit.citizen_id,
                visit_id=visit.id,
                caller_staff_id=nurse_id,
                state=CallState.ENDED,
                ring_started_at=now,
                answered_at=now if answer == "done" else None,
                ended_at=now + dt.timedelta(minutes=1),
                end_reason="hangup" if answer == "done" else answer,
            )
            session.add(call)
            if answer == "done":
                _document(session, visit, now)


def _document(session: object, visit: Visit, now: dt.datetime) -> None:
    """What the console does when a nurse records a completed visit."""
    visit.status = VisitStatus.DONE
    session.add(Outcome(visit_id=visit.id, kind=OutcomeKind.COMPLETED, recorded_at=now))  # type: ignore[attr-defined]


async def test_invariant_every_ended_window_has_outcome_or_escalation(db_url: str) -> None:
    """Random answers, forgotten calls, restarts and two processes: nothing is lost or doubled."""
    rng = random.Random(6)
    async with transaction(db_url) as session:
        world = await make_world(session, citizens=6)
        for index, citizen in enumerate(world.citizens):
            await add_plan(session, world, citizen, "medication", dt.time(8, 0))
            await add_plan(session, world, citizen, "reassurance", dt.time(10 + index, 0))
            await add_plan(
                session, world, citizen, "bath", dt.time(14, 0), channels={"0": "physical"}
            )
    engine, scheduler = _scheduler(db_url)
    other_engine, other = _scheduler(db_url)
    try:
        await scheduler.generate(START)
        now = START
        end = START + dt.timedelta(hours=17)
        while now <= end:
            await _act(db_url, now, rng, world.nurse_id)
            if rng.random() < 0.1:  # a restart: a new process with nothing in memory
                await engine.dispose()
                engine, scheduler = _scheduler(db_url)
                await scheduler.generate(now)
            await asyncio.gather(scheduler.tick(now), other.tick(now))
            now += STEP
    finally:
        await engine.dispose()
        await other_engine.dispose()
    await _assert_invariant(db_url, end)


async def _assert_invariant(db_url: str, now: dt.datetime) -> None:
    async with transaction(db_url) as session:
        visits = list(await session.scalars(select(Visit)))
        outcomes = set(await session.scalars(select(Outcome.visit_id)))
        escalations = select(InboxItem.visit_id).where(InboxItem.kind == InboxKind.MISSED_VISIT)
        alerts = Counter(await session.scalars(escalations))
        tasks = Counter(await session.scalars(escalations.where(InboxItem.due_at.is_not(None))))
    ended = [v for v in visits if v.planned_at + dt.timedelta(hours=2) < now]
    assert len(ended) >= 12
    statuses = Counter(v.status for v in ended)
    assert statuses[VisitStatus.DONE] and statuses[VisitStatus.MISSED], statuses
    for visit in ended:
        escalated = alerts[visit.id] == 1 and tasks[visit.id] == 1
        assert visit.id in outcomes or escalated, (visit.id, visit.status, visit.channel)
        assert alerts[visit.id] <= 1 and tasks[visit.id] <= 1, "escalated twice"
        if visit.status == VisitStatus.DONE:
            assert alerts[visit.id] == 0, "a documented visit was escalated"
