"""Retention: old call metadata, observations and audit events are purged, the purge is
recorded in the audit chain (which still verifies), and 0 keeps everything; on both backends,
PostgreSQL with its append-only trigger."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import audit
from server.db import make_engine, make_sessionmaker
from server.models import AuditEvent, Call, CallParticipant, Observation, Organisation, utcnow
from server.scheduling.jobs import Scheduler
from server.scheduling.notifier import make_notifier
from server.scheduling.retention import ACTION, Limits, run
from server.sealing import development_keyring
from server.settings import Settings
from server.vocabulary import CallState, ObservationCode, PeerKind
from tests.test_cli import cli_env, run_cli  # noqa: F401  (fixture)

Sessions = async_sessionmaker[AsyncSession]
DAY = dt.timedelta(days=1)
KAREN = 1


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Run on both backends."""
    return both_backends


@pytest.fixture
async def sessions(demo: Settings) -> AsyncIterator[Sessions]:
    """A session factory on the seeded demo database."""
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def add_records(sessions: Sessions, age: dt.timedelta) -> None:
    """An ended call with its participant, an unfinished call, an observation and an audit
    event, all ``age`` old."""
    at = utcnow() - age
    async with sessions.begin() as session:
        ended = Call(
            public_id=f"old{age.days}",
            citizen_id=KAREN,
            state=CallState.ENDED,
            ring_started_at=at,
            ended_at=at,
        )
        stuck = Call(public_id=f"stuck{age.days}", citizen_id=KAREN, ring_started_at=at)
        session.add_all([ended, stuck])
        await session.flush()
        session.add(CallParticipant(call_id=ended.id, kind=PeerKind.STAFF, joined_at=at))
        session.add(Observation(citizen_id=KAREN, code=ObservationCode.APPETITE, recorded_at=at))
        event = audit.record(session, "test.old", actor="tester")
        event.at, event.organisation_id = at, 1


async def counts(sessions: Sessions, before: dt.datetime) -> dict[str, int]:
    """How many rows of each kind are older than ``before``."""
    queries = {
        "ended calls": select(func.count()).select_from(Call).where(Call.ended_at < before),
        "unended calls": select(func.count())
        .select_from(Call)
        .where(Call.ended_at.is_(None), Call.ring_started_at < before),
        "participants": select(func.count())
        .select_from(CallParticipant)
        .where(CallParticipant.joined_at < before),
        "observations": select(func.count())
        .select_from(Observation)
        .where(Observation.recorded_at < before),
        "audit": select(func.count()).select_from(AuditEvent).where(AuditEvent.at < before),
    }
    async with sessions() as session:
        return {name: int(await session.scalar(q) or 0) for name, q in queries.items()}


async def test_the_purge_deletes_what_is_older_and_records_it(sessions: Sessions) -> None:
    """Records 400 days old go, records 10 days old stay; a dry run only counts; the
    organisation's chain holds a retention.purge event with the counts and still verifies."""
    await add_records(sessions, 400 * DAY)
    await add_records(sessions, 10 * DAY)
    limits = Limits(call_days=365, observation_days=365, audit_days=365)
    cutoff = utcnow() - 365 * DAY
    before = await counts(sessions, cutoff)
    assert before["ended calls"] >= 1 and before["observations"] >= 1 and before["audit"] >= 1
    dry = await run(sessions, limits, utcnow(), dry_run=True)
    assert sum(dry.calls.values()) == before["ended calls"] and dry.audit_due == before["audit"]
    assert await counts(sessions, cutoff) == before
    recent = await counts(sessions, utcnow() - 5 * DAY)
    report = await run(sessions, limits, utcnow())
    assert report.calls == {1: before["ended calls"]}
    assert report.observations == {1: before["observations"]}
    after = await counts(sessions, cutoff)
    assert after == {
        "ended calls": 0,
        "unended calls": before["unended calls"],  # a call never ended is not history yet
        "participants": 0,
        "observations": 0,
        "audit": 0,
    }
    kept = await counts(sessions, utcnow() - 5 * DAY)
    assert kept["ended calls"] == recent["ended calls"] - before["ended calls"]
    async with sessions() as session:
        demo_org = await session.scalar(select(Organisation.id).where(Organisation.slug == "demo"))
        marks = (await session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION))).all()
        purges = await session.scalar(
            select(func.count()).where(AuditEvent.action == audit.PURGE_ACTION)
        )
        reports = await audit.verify(session)
    assert [(m.organisation_id, m.detail["calls"], m.actor) for m in marks] == [
        (demo_org, before["ended calls"], "retention")
    ]
    assert purges and purges >= 1
    assert all(r.problem is None for r in reports), [r.problem for r in reports]


async def test_no_limit_keeps_everything(sessions: Sessions, demo: Settings) -> None:
    """The defaults (0) purge nothing: the job does not even run."""
    assert not Limits.of(demo).any()
    await add_records(sessions, 4000 * DAY)
    before = await counts(sessions, utcnow())
    report = await run(sessions, Limits.of(demo), utcnow())
    assert not report.calls and not report.observations and not report.audit
    assert await counts(sessions, utcnow()) == before
    assert Limits.of(dataclasses.replace(demo, retention_audit_days=30)).any()


def test_cli_purge_dry_run(cli_env: dict[str, str]) -> None:  # noqa: F811
    """`screenvisit purge` says when nothing is set; with a limit, --dry-run counts."""
    assert run_cli("migrate", env=cli_env).returncode == 0
    nothing = run_cli("purge", env=cli_env)
    assert nothing.returncode == 0 and "everything is kept" in nothing.stdout
    env = cli_env | {"SCREENVISIT_RETENTION_CALL_DAYS": "30"}
    dry = run_cli("purge", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "would delete calls: 0, observations: 0, audit events: 0"
    done = run_cli("purge", env=env)
    assert done.returncode == 0 and done.stdout.startswith("deleted calls: 0")


async def test_the_scheduler_runs_the_purge(sessions: Sessions, demo: Settings) -> None:
    """The scheduler's retention step (run hourly when a limit is set) purges like the CLI."""
    await add_records(sessions, 400 * DAY)
    settings = dataclasses.replace(demo, retention_observation_days=30)
    scheduler = Scheduler(settings, sessions, make_notifier(settings))
    report = await scheduler.retention(utcnow())
    assert sum(report.observations.values()) >= 1 and not report.calls
    assert (await counts(sessions, utcnow() - 30 * DAY))["observations"] == 0
