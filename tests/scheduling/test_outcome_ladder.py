"""The ladder respects documentation: answered calls get time to be documented, and a nurse's
"not answered" / "declined" retries and escalates without a second outcome or a false notice."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import make_engine, make_sessionmaker
from server.identity import StaffIdentity
from server.models import (
    Call,
    CallState,
    Consent,
    ConsentKind,
    InboxItem,
    InboxKind,
    InboxState,
    Notification,
    Organisation,
    Outcome,
    OutcomeKind,
    Relative,
    Role,
    Visit,
    VisitStatus,
)
from server.orgsettings import RetryLadder
from server.scheduling.jobs import Scheduler
from server.scheduling.notifier import LoggingNotifier
from server.sealing import development_keyring
from server.settings import Settings
from server.visits import outcomes
from server.visits.daylist import next_visit_for_citizen
from tests.databases import transaction
from tests.scheduling.world import World, make_world
from tests.zone import LOCAL_ZONE

PLANNED = dt.datetime(2026, 3, 23, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Copenhagen, ±15
MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


async def _setup(db_url: str, ladder: dict[str, Any] | None = None) -> tuple[World, int]:
    """A world whose org notifies a consenting relative, and one medication screen visit."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        org = await session.get_one(Organisation, world.org_id)
        ladder = {"notify_relative": True, **(ladder or {})}
        org.settings = {"retry_ladder": RetryLadder(**ladder).model_dump()}
        citizen = world.citizens[0]
        visit = Visit(
            citizen_id=citizen,
            visit_type_id=world.types["reassurance"],
            team_id=world.team_id,
            planned_at=PLANNED,
        )
        session.add(visit)
        session.add(Consent(citizen_id=citizen, kind=ConsentKind.NOTIFY_RELATIVE, granted_by="b"))
        session.add(
            Relative(citizen_id=citizen, name="Ida", relation="datter", may_be_notified=True)
        )
        await session.flush()
        return world, visit.id


async def _call(
    db_url: str, visit_id: int, start: dt.datetime, end: dt.datetime, answered: bool
) -> None:
    """One ended call for the visit, answered (hung up) or not."""
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        session.add(
            Call(
                public_id=uuid.uuid4().hex,
                citizen_id=visit.citizen_id,
                visit_id=visit_id,
                state=CallState.ENDED,
                ring_started_at=start,
                answered_at=start if answered else None,
                ended_at=end,
                end_reason="hangup" if answered else "no_answer",
            )
        )


async def _tick(db_url: str, now: dt.datetime) -> Visit:
    """One scheduler tick at `now` in a fresh process; the visit afterwards."""
    engine: AsyncEngine = make_engine(db_url, keyring=development_keyring())
    settings = Settings(database_url=db_url, secret_key="t")
    try:
        await Scheduler(settings, make_sessionmaker(engine), LoggingNotifier()).tick(now)
    finally:
        await engine.dispose()
    async with transaction(db_url) as session:
        return await session.get_one(Visit, (await session.scalars(select(Visit.id))).one())


ALERT, TASK = "missed-visit item", "physical-visit request"  # inbox rows _count counts


async def _count(db_url: str, model: type[Any] | str) -> int:
    """Rows of `model`; ALERT: the escalations' inbox items, TASK: those asking for a visit."""
    async with transaction(db_url) as session:
        if model in (ALERT, TASK):
            query = select(func.count()).where(InboxItem.kind == InboxKind.MISSED_VISIT)
            if model == TASK:
                query = query.where(InboxItem.due_at.is_not(None))
            return int(await session.scalar(query) or 0)
        assert isinstance(model, type)
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _alert_text(db_url: str) -> str:
    """The one missed-visit alert's message."""
    async with transaction(db_url) as session:
        return (
            await session.scalars(
                select(InboxItem.message).where(InboxItem.kind == InboxKind.MISSED_VISIT)
            )
        ).one()


async def _nurse_records(
    db_url: str, world: World, visit_id: int, kind: OutcomeKind, at: dt.datetime
) -> None:
    """The nurse records `kind` through the console's outcome code, at simulated time `at`."""
    identity = StaffIdentity(
        world.nurse_id, world.org_id, "n", "Anna", Role.NURSE, frozenset({world.team_id}), 0, "x"
    )
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        data = outcomes.OutcomeInput(kind, "Ingen svar")
        outcome, _ = await outcomes.record(session, identity, visit, data, now=at)
        outcome.recorded_at = at


async def test_answered_call_after_window_gets_documentation_grace(db_url: str) -> None:
    """Called 08:10–08:16 (window 08:00 ±15): not escalated at 08:20, `no_outcome` after grace."""
    _, visit_id = await _setup(db_url)
    end = PLANNED + 16 * MIN
    await _call(db_url, visit_id, PLANNED + 10 * MIN, end, answered=True)
    visit = await _tick(db_url, PLANNED + 20 * MIN)
    assert visit.status == VisitStatus.PLANNED
    assert (await _tick(db_url, end + 29 * MIN)).status == VisitStatus.PLANNED
    visit = await _tick(db_url, end + 31 * MIN)
    assert visit.status == VisitStatus.MISSED
    assert (await _alert_text(db_url)).startswith("Besøget mangler dokumentation")
    assert await _count(db_url, Notification) == 0, "relatives are not told the citizen failed"
    assert await _count(db_url, Outcome) == 0


async def test_documentation_grace_follows_longer_edit_window(db_url: str) -> None:
    """An organisation with a 60-minute edit window gives 60 minutes to document."""
    world, visit_id = await _setup(db_url)
    async with transaction(db_url) as session:
        org = await session.get_one(Organisation, world.org_id)
        org.settings = {**org.settings, "outcome_edit_minutes": 60}
    end = PLANNED + 16 * MIN
    await _call(db_url, visit_id, PLANNED + 10 * MIN, end, answered=True)
    assert (await _tick(db_url, end + 45 * MIN)).status == VisitStatus.PLANNED
    assert (await _tick(db_url, end + 61 * MIN)).status == VisitStatus.MISSED


async def test_no_call_alert_blames_nobody_and_spares_relatives(db_url: str) -> None:
    """Nobody rang: "Ingen har ringet…", and no relative hears the citizen did not answer."""
    _, visit_id = await _setup(db_url)
    visit = await _tick(db_url, PLANNED + 16 * MIN)
    assert visit.status == VisitStatus.MISSED
    assert (await _alert_text(db_url)).startswith("Ingen har ringet")
    assert await _count(db_url, Notification) == 0
    assert await _count(db_url, TASK) == 1


async def test_unanswered_escalation_still_notifies_relative(db_url: str) -> None:
    """The citizen did not answer any attempt: the consenting relative is told."""
    _, visit_id = await _setup(db_url, {"retries": 0})
    await _call(db_url, visit_id, PLANNED, PLANNED + MIN, answered=False)
    assert (await _tick(db_url, PLANNED + 2 * MIN)).status == VisitStatus.MISSED
    assert await _count(db_url, Notification) == 1


async def test_hand_recorded_failure_retries_then_escalates_once(db_url: str) -> None:
    """The nurse taps "Ikke svaret" after an answered call: retry, then escalation,
    with her outcome the only one."""
    world, visit_id = await _setup(db_url, {"retries": 1, "delay_min": 5})
    await _call(db_url, visit_id, PLANNED, PLANNED + 2 * MIN, answered=True)
    await _nurse_records(db_url, world, visit_id, OutcomeKind.NOT_ANSWERED, PLANNED + 150 * SEC)
    visit = await _tick(db_url, PLANNED + 3 * MIN)
    assert visit.status == VisitStatus.NOT_ANSWERED and visit.attempts == 1
    assert visit.next_attempt_at == PLANNED + 7 * MIN
    await _call(db_url, visit_id, PLANNED + 8 * MIN, PLANNED + 9 * MIN, answered=False)
    visit = await _tick(db_url, PLANNED + 10 * MIN)
    assert visit.status == VisitStatus.MISSED
    assert (await _count(db_url, ALERT), await _count(db_url, TASK)) == (1, 1)
    assert await _count(db_url, Outcome) == 1, "the escalation added no second outcome"


async def test_hand_recorded_failure_without_retry_escalates_at_deadline(db_url: str) -> None:
    """Nobody calls again after the nurse's "Ikke svaret": escalated once the retry is overdue."""
    world, visit_id = await _setup(db_url, {"retries": 2, "delay_min": 5})
    await _call(db_url, visit_id, PLANNED, PLANNED + MIN, answered=False)
    await _nurse_records(db_url, world, visit_id, OutcomeKind.NOT_ANSWERED, PLANNED + 90 * SEC)
    visit = await _tick(db_url, PLANNED + 2 * MIN)
    assert visit.attempts == 1, "the documented unanswered call is one attempt, not two"
    assert (await _tick(db_url, PLANNED + 12 * MIN)).status == VisitStatus.NOT_ANSWERED
    visit = await _tick(db_url, PLANNED + 16 * MIN)
    assert visit.status == VisitStatus.MISSED
    assert await _count(db_url, Outcome) == 1 and await _count(db_url, ALERT) == 1


async def test_failure_recorded_on_missed_visit_does_not_reopen_it(db_url: str) -> None:
    """A "not answered" recorded after the watchdog escalated keeps the visit missed, once."""
    world, visit_id = await _setup(db_url)
    assert (await _tick(db_url, PLANNED + 16 * MIN)).status == VisitStatus.MISSED
    await _nurse_records(db_url, world, visit_id, OutcomeKind.NOT_ANSWERED, PLANNED + 20 * MIN)
    assert (await _tick(db_url, PLANNED + 60 * MIN)).status == VisitStatus.MISSED
    assert await _count(db_url, ALERT) == 1


@pytest.mark.parametrize("status", [VisitStatus.RINGING, VisitStatus.IN_CALL])
async def test_tablet_keeps_showing_the_visit_being_called(
    db_url: str, status: VisitStatus
) -> None:
    """During a ring or call that runs past the window, the next visit is still this one."""
    world, visit_id = await _setup(db_url)
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        visit.status = status
        session.add(
            Visit(
                citizen_id=visit.citizen_id,
                visit_type_id=visit.visit_type_id,
                team_id=world.team_id,
                planned_at=PLANNED + dt.timedelta(hours=3),
            )
        )
    async with transaction(db_url) as session:
        found = await next_visit_for_citizen(
            session, world.citizens[0], PLANNED + 20 * MIN, LOCAL_ZONE
        )
    assert found is not None and found.visit_id == visit_id


async def test_hand_recorded_refusal_is_final(db_url: str) -> None:
    """The citizen said no to the nurse: no more rings, no escalation, no relative notice."""
    world, visit_id = await _setup(db_url, {"retries": 2, "delay_min": 5, "notify_relative": True})
    await _call(db_url, visit_id, PLANNED, PLANNED + 2 * MIN, answered=True)
    await _nurse_records(db_url, world, visit_id, OutcomeKind.DECLINED, PLANNED + 150 * SEC)
    for minutes in (3, 30, 120):
        visit = await _tick(db_url, PLANNED + minutes * MIN)
        assert visit.status == VisitStatus.DONE and visit.next_attempt_at is None
    assert (await _count(db_url, ALERT), await _count(db_url, Notification)) == (0, 0)


async def test_completed_retry_replaces_the_failed_attempt(db_url: str) -> None:
    """ "Ikke svaret" at 08:02, escalated, then Karen is reached: "Gennemført" is recorded as an
    amendment, the visit is done and the escalation's task and alert are closed."""
    world, visit_id = await _setup(db_url, {"retries": 0})
    await _call(db_url, visit_id, PLANNED, PLANNED + MIN, answered=False)
    await _nurse_records(db_url, world, visit_id, OutcomeKind.NOT_ANSWERED, PLANNED + 90 * SEC)
    assert (await _tick(db_url, PLANNED + 2 * MIN)).status == VisitStatus.MISSED
    await _call(db_url, visit_id, PLANNED + 10 * MIN, PLANNED + 14 * MIN, answered=True)
    await _nurse_records(db_url, world, visit_id, OutcomeKind.COMPLETED, PLANNED + 15 * MIN)
    visit = await _tick(db_url, PLANNED + 60 * MIN)
    assert visit.status == VisitStatus.DONE
    async with transaction(db_url) as session:
        kinds = [o.kind for o in await session.scalars(select(Outcome).order_by(Outcome.id))]
        open_follow_ups = await session.scalar(
            select(func.count()).where(
                InboxItem.kind.in_([InboxKind.MISSED_VISIT, InboxKind.PHYSICAL_VISIT]),
                InboxItem.state.in_([InboxState.OPEN, InboxState.TAKEN]),
            )
        )
    assert kinds == [OutcomeKind.NOT_ANSWERED, OutcomeKind.COMPLETED]
    assert open_follow_ups == 0


async def test_late_correction_to_not_answered_does_not_reopen(db_url: str) -> None:
    """Correcting last week's visit to "Ikke svaret" closes it as missed: no retry, no notice."""
    world, visit_id = await _setup(db_url, {"retries": 2, "notify_relative": True})
    await _nurse_records(
        db_url, world, visit_id, OutcomeKind.NOT_ANSWERED, PLANNED + dt.timedelta(days=7)
    )
    visit = await _tick(db_url, PLANNED + dt.timedelta(days=7, minutes=1))
    assert visit.status == VisitStatus.MISSED and visit.next_attempt_at is None
    assert (await _count(db_url, ALERT), await _count(db_url, Notification)) == (0, 0)


async def test_documenting_a_no_outcome_escalation_closes_it(db_url: str) -> None:
    """ "Besøget mangler dokumentation": once the nurse records "Gennemført", the visit is done
    and the escalation's physical-visit task and alert are closed (nobody drives out)."""
    world, visit_id = await _setup(db_url)
    end = PLANNED + 16 * MIN
    await _call(db_url, visit_id, PLANNED + 10 * MIN, end, answered=True)
    assert (await _tick(db_url, end + 31 * MIN)).status == VisitStatus.MISSED
    await _nurse_records(db_url, world, visit_id, OutcomeKind.COMPLETED, end + 40 * MIN)
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        open_follow_ups = await session.scalar(
            select(func.count()).where(
                InboxItem.kind.in_([InboxKind.MISSED_VISIT, InboxKind.PHYSICAL_VISIT]),
                InboxItem.state.in_([InboxState.OPEN, InboxState.TAKEN]),
            )
        )
    assert visit.status == VisitStatus.DONE
    assert open_follow_ups == 0
