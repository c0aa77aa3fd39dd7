"""The missed-visit ladder obeys the organisation's retry-ladder settings (admin page)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import make_engine, make_sessionmaker
from server.models import (
    AuditEvent,
    Call,
    CallState,
    Consent,
    ConsentKind,
    InboxItem,
    InboxKind,
    Notification,
    Organisation,
    Outcome,
    OutcomeKind,
    Relative,
    Visit,
    VisitStatus,
    VisitType,
)
from server.orgsettings import RetryLadder
from server.scheduling.jobs import Scheduler, TickReport
from server.scheduling.ladder import effective_rule
from server.scheduling.notifier import LoggingNotifier
from server.sealing import development_keyring
from server.settings import Settings
from tests.databases import transaction
from tests.scheduling.world import World, make_world

PLANNED = dt.datetime(2026, 3, 23, 8, 0, tzinfo=dt.UTC)  # Monday 09:00 in Copenhagen


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


async def _setup(
    db_url: str,
    ladder: dict[str, Any],
    retries: int = 2,
    delay: int = 5,
    relative: bool = False,
    refusal: str = "retry",
) -> tuple[World, int]:
    """A world whose organisation has `ladder` (and the tablet refusal policy `refusal`), and
    one screen visit of a type with the numbers."""
    async with transaction(db_url) as session:
        world = await make_world(session)
        org = await session.get_one(Organisation, world.org_id)
        org.settings = {
            "retry_ladder": RetryLadder(**ladder).model_dump(),
            "tablet_refusal": refusal,
        }
        vtype = VisitType(
            organisation_id=world.org_id,
            code="checked",
            name_da="Tilsyn",
            name_en="Check",
            retry_count=retries,
            retry_delay_min=delay,
        )
        session.add(vtype)
        await session.flush()
        citizen = world.citizens[0]
        visit = Visit(
            citizen_id=citizen, visit_type_id=vtype.id, team_id=world.team_id, planned_at=PLANNED
        )
        session.add(visit)
        if relative:
            session.add(
                Consent(citizen_id=citizen, kind=ConsentKind.NOTIFY_RELATIVE, granted_by="b")
            )
            session.add(
                Relative(citizen_id=citizen, name="Ida", relation="datter", may_be_notified=True)
            )
        await session.flush()
        return world, visit.id


async def _fail_and_tick(
    db_url: str, visit_id: int, at: dt.datetime, reason: str = "no_answer"
) -> Visit:
    """One call at `at` that ended a minute later with `reason` (unanswered), then a ladder
    tick a minute after it ended; the visit."""
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        session.add(_unanswered(visit, at, reason, lasted=dt.timedelta(minutes=1)))
    return await _tick(db_url, visit_id, at + dt.timedelta(minutes=2))


def _unanswered(visit: Visit, at: dt.datetime, reason: str, lasted: dt.timedelta) -> Call:
    """A call for the visit that rang at `at` and ended unanswered `lasted` later."""
    return Call(
        public_id=uuid.uuid4().hex,
        citizen_id=visit.citizen_id,
        visit_id=visit.id,
        state=CallState.ENDED,
        ring_started_at=at,
        ended_at=at + lasted,
        end_reason=reason,
    )


async def _tick(db_url: str, visit_id: int, at: dt.datetime) -> Visit:
    """One scheduler tick at `at`; the visit after it."""
    engine, scheduler = _scheduler(db_url)
    try:
        REPORTS[visit_id] = await scheduler.tick(at)
    finally:
        await engine.dispose()
    async with transaction(db_url) as session:
        return await session.get_one(Visit, visit_id)


def _scheduler(db_url: str) -> tuple[AsyncEngine, Scheduler]:
    """A scheduler on its own engine, as a server process has."""
    engine = make_engine(db_url, keyring=development_keyring())
    settings = Settings(database_url=db_url, secret_key="t")
    return engine, Scheduler(settings, make_sessionmaker(engine), LoggingNotifier())


ALERT, TASK = "missed-visit item", "physical-visit task"  # kinds of rows _count counts
REPORTS: dict[int, TickReport] = {}  # visit id → what the last tick of _fail_and_tick did


async def _count(db_url: str, model: type[Any] | str, visit_id: int) -> int:
    """Rows of `model` about the visit; ALERT and TASK count the escalation's inbox item, and
    its request for a physical visit (a due time)."""
    async with transaction(db_url) as session:
        if model in (ALERT, TASK):
            query = select(func.count()).where(
                InboxItem.visit_id == visit_id, InboxItem.kind == InboxKind.MISSED_VISIT
            )
            if model == TASK:
                query = query.where(InboxItem.due_at.is_not(None))
            return int(await session.scalar(query) or 0)
        assert isinstance(model, type)
        column = AuditEvent.subject_id if model is AuditEvent else model.visit_id
        key: object = str(visit_id) if model is AuditEvent else visit_id
        return int(await session.scalar(select(func.count()).where(column == key)) or 0)


def _alerted(visit_id: int) -> bool:
    """Whether the last tick pushed a live missed-visit alert (not a tablet warning) about it."""
    return any(
        alert.visit_id == visit_id and alert.kind is InboxKind.MISSED_VISIT
        for alert in REPORTS[visit_id].alerts
    )


def test_effective_rule_org_default_type_only_stricter() -> None:
    """The org's ladder applies; a type's own numbers only ever make it stricter."""
    org = RetryLadder(retries=3, delay_min=15)
    standard = VisitType(retry_count=2, retry_delay_min=5)
    strict = VisitType(retry_count=1, retry_delay_min=3)
    loose = VisitType(retry_count=5, retry_delay_min=30)
    assert (effective_rule(org, standard).retries, effective_rule(org, standard).delay) == (
        3,
        dt.timedelta(minutes=15),
    )
    assert (effective_rule(org, strict).retries, effective_rule(org, strict).delay) == (
        1,
        dt.timedelta(minutes=3),
    )
    assert (effective_rule(org, loose).retries, effective_rule(org, loose).delay) == (
        3,
        dt.timedelta(minutes=15),
    )
    low = RetryLadder(retries=0, delay_min=2)
    assert (effective_rule(low, strict).retries, effective_rule(low, strict).delay) == (
        0,
        dt.timedelta(minutes=2),
    )


def test_standard_ladder_matches_visit_type_defaults() -> None:
    """The 'not set' values of a visit type are its column defaults and the org's defaults."""
    columns = VisitType.__table__.c
    assert columns.retry_count.default.arg == RetryLadder().retries
    assert columns.retry_delay_min.default.arg == RetryLadder().delay_min


async def test_org_without_retries_escalates_after_first_failure(db_url: str) -> None:
    """Org retries 0: the first unanswered call escalates, with outcome, alert and task."""
    _, visit_id = await _setup(db_url, {"retries": 0})
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.MISSED
    assert await _count(db_url, Outcome, visit_id) == 1
    assert await _count(db_url, ALERT, visit_id) == 1 and _alerted(visit_id)
    assert await _count(db_url, TASK, visit_id) == 1
    assert await _count(db_url, AuditEvent, visit_id) == 1


async def test_strict_visit_type_caps_org_retries_and_delay(db_url: str) -> None:
    """Medication with 1 retry × 3 min under an org with 3 × 10: escalates after 2 failures."""
    _, visit_id = await _setup(db_url, {"retries": 3, "delay_min": 10}, retries=1, delay=3)
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.NOT_ANSWERED and visit.attempts == 1
    assert visit.next_attempt_at == PLANNED + dt.timedelta(minutes=1 + 3)
    visit = await _fail_and_tick(db_url, visit_id, PLANNED + dt.timedelta(minutes=4))
    assert visit.status == VisitStatus.MISSED
    async with transaction(db_url) as session:
        outcome = await session.scalar(select(Outcome).where(Outcome.visit_id == visit_id))
    assert outcome is not None and outcome.kind == OutcomeKind.NOT_ANSWERED


async def test_org_raises_ladder_for_type_left_at_standard(db_url: str) -> None:
    """A type left at 2 × 5 follows an org that allows 3 retries 15 minutes apart."""
    _, visit_id = await _setup(db_url, {"retries": 3, "delay_min": 15})
    at = PLANNED - dt.timedelta(minutes=14)
    for attempt in (1, 2, 3):
        visit = await _fail_and_tick(db_url, visit_id, at)
        assert visit.status == VisitStatus.NOT_ANSWERED and visit.attempts == attempt
        assert visit.next_attempt_at == at + dt.timedelta(minutes=1 + 15)
        at += dt.timedelta(minutes=16)
    visit = await _fail_and_tick(db_url, visit_id, at)
    assert visit.status == VisitStatus.MISSED


async def test_no_team_alert_still_outcome_and_task(db_url: str) -> None:
    """alert_team off: no live alert, but the visit is missed with its outcome and task."""
    _, visit_id = await _setup(db_url, {"retries": 0, "alert_team": False})
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.MISSED
    assert not _alerted(visit_id)
    assert await _count(db_url, Outcome, visit_id) == 1
    assert await _count(db_url, TASK, visit_id) == 1


async def test_no_physical_task(db_url: str) -> None:
    """create_physical_task off: the team is alerted, but asked for no physical visit."""
    _, visit_id = await _setup(db_url, {"retries": 0, "create_physical_task": False})
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.MISSED
    assert await _count(db_url, TASK, visit_id) == 0
    assert await _count(db_url, ALERT, visit_id) == 1 and _alerted(visit_id)


async def test_all_steps_off_still_leaves_a_trace(db_url: str) -> None:
    """Alert and task both off: the visit is missed, with its outcome and an audit event."""
    ladder = {"retries": 0, "alert_team": False, "create_physical_task": False}
    _, visit_id = await _setup(db_url, ladder)
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.MISSED
    assert (await _count(db_url, ALERT, visit_id), _alerted(visit_id)) == (0, False)
    assert await _count(db_url, Outcome, visit_id) == 1
    async with transaction(db_url) as session:
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "visit.escalated")
        )
    assert audit is not None and audit.subject_id == str(visit_id)
    assert audit.detail["alert_team"] is False and audit.detail["physical_task"] is False


@pytest.mark.parametrize("notify", [False, True])
async def test_notify_relative_follows_org(db_url: str, notify: bool) -> None:
    """A consenting relative gets a notice only when the org has notify_relative on."""
    ladder = {"retries": 0, "notify_relative": notify}
    _, visit_id = await _setup(db_url, ladder, relative=True)
    visit = await _fail_and_tick(db_url, visit_id, PLANNED)
    assert visit.status == VisitStatus.MISSED
    assert await _count(db_url, Notification, visit_id) == (1 if notify else 0)


async def test_org_settings_read_once_per_tick(db_url: str) -> None:
    """Many open visits, one query for the organisations' settings."""
    world, first = await _setup(db_url, {"retries": 1})
    async with transaction(db_url) as session:
        vtype_id = (await session.get_one(Visit, first)).visit_type_id
        for minutes in range(0, 60, 10):
            session.add(
                Visit(
                    citizen_id=world.citizens[0],
                    visit_type_id=vtype_id,
                    team_id=world.team_id,
                    planned_at=PLANNED + dt.timedelta(minutes=minutes + 1),
                )
            )
    engine, scheduler = _scheduler(db_url)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await scheduler.tick(PLANNED + dt.timedelta(hours=1))
    finally:
        await engine.dispose()
    assert sum("organisation.settings" in s for s in statements) == 1


async def _items(db_url: str, visit_id: int, kind: InboxKind) -> list[InboxItem]:
    """The visit's inbox items of `kind`, oldest first."""
    async with transaction(db_url) as session:
        rows = await session.scalars(
            select(InboxItem)
            .where(InboxItem.visit_id == visit_id, InboxItem.kind == kind)
            .order_by(InboxItem.id)
        )
        return list(rows)


def _asked(visit_id: int) -> bool:
    """Whether the last tick pushed a live "ring again?" question about the visit."""
    return any(a.kind is InboxKind.DECLINED_CALL for a in REPORTS[visit_id].alerts)


async def _outcome_kind(db_url: str, visit_id: int) -> OutcomeKind | None:
    async with transaction(db_url) as session:
        return await session.scalar(select(Outcome.kind).where(Outcome.visit_id == visit_id))


async def test_tablet_refusal_retry_is_todays_ladder(db_url: str) -> None:
    """The default: a decline on the tablet is a failed attempt, rung again after the delay."""
    _, visit_id = await _setup(db_url, {})
    visit = await _fail_and_tick(db_url, visit_id, PLANNED, reason="declined")
    assert visit.status == VisitStatus.NOT_ANSWERED and visit.attempts == 1
    assert visit.next_attempt_at == PLANNED + dt.timedelta(minutes=1 + 5)


async def test_tablet_refusal_final_ends_the_visit_as_declined(db_url: str) -> None:
    """ "Respect the refusal": the first decline escalates at once, outcome declined."""
    _, visit_id = await _setup(db_url, {}, refusal="final")
    visit = await _fail_and_tick(db_url, visit_id, PLANNED, reason="declined")
    assert visit.status == VisitStatus.MISSED
    assert await _outcome_kind(db_url, visit_id) is OutcomeKind.DECLINED
    assert await _count(db_url, ALERT, visit_id) == 1 and _alerted(visit_id)


async def test_tablet_refusal_ask_asks_the_team_once_then_escalates(db_url: str) -> None:
    """ "Ask the team": no retry time; one open question in the inbox (pushed live once); at the
    window's end the visit escalates as declined and the question is closed."""
    _, visit_id = await _setup(db_url, {}, refusal="ask")
    visit = await _fail_and_tick(db_url, visit_id, PLANNED, reason="declined")
    assert visit.status == VisitStatus.NOT_ANSWERED and visit.attempts == 1
    assert visit.next_attempt_at is None
    (question,) = await _items(db_url, visit_id, InboxKind.DECLINED_CALL)
    assert question.state.value == "open" and "afviste opkaldet" in question.message
    assert _asked(visit_id)
    visit = await _fail_and_tick(
        db_url, visit_id, PLANNED + dt.timedelta(minutes=5), reason="declined"
    )
    assert visit.attempts == 2 and not _asked(visit_id)
    assert len(await _items(db_url, visit_id, InboxKind.DECLINED_CALL)) == 1
    visit = await _tick(db_url, visit_id, PLANNED + dt.timedelta(minutes=16))
    assert visit.status == VisitStatus.MISSED
    assert await _outcome_kind(db_url, visit_id) is OutcomeKind.DECLINED
    (question,) = await _items(db_url, visit_id, InboxKind.DECLINED_CALL)
    assert question.state.value == "done" and "eskaleret" in (question.note or "")


async def test_only_refused_rings_end_as_technical_failure_saying_what_was_tried(
    db_url: str,
) -> None:
    """Eighteen rings to an offline tablet are attempts: they use no retries, and at the
    window's end the visit ends as a technical failure whose alert says what was tried."""
    _, visit_id = await _setup(db_url, {"retries": 2})
    async with transaction(db_url) as session:
        visit = await session.get_one(Visit, visit_id)
        for minute in range(-12, 6):
            at = PLANNED + dt.timedelta(minutes=minute)
            reason = "server_lost" if minute == 5 else "offline"
            session.add(_unanswered(visit, at, reason, lasted=dt.timedelta()))
    visit = await _tick(db_url, visit_id, PLANNED + dt.timedelta(minutes=10))
    assert visit.status != VisitStatus.MISSED and visit.attempts == 0
    visit = await _tick(db_url, visit_id, PLANNED + dt.timedelta(minutes=15))
    assert visit.status == VisitStatus.MISSED
    assert await _outcome_kind(db_url, visit_id) is OutcomeKind.TECHNICAL_FAILURE
    (item,) = await _items(db_url, visit_id, InboxKind.MISSED_VISIT)
    assert item.message.startswith("Teknisk fejl:")
    assert "18 opkald nåede ikke frem (17 × tabletten var ikke forbundet, 1 × forbindelsen " in (
        item.message
    )
    assert "første kl. 08:48, sidste kl. 09:05" in item.message  # Copenhagen time
    assert "Ingen har ringet" not in item.message
