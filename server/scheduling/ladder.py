"""The missed-visit ladder and the watchdog: every ended window gets an outcome or an escalation.

All state is in the database (visit status, attempts, next_attempt_at, calls), so a restart
loses nothing: each tick derives what to do from the rows.

* **Ladder.** A call for a visit that ended unanswered or declined is one failed attempt. While
  attempts ≤ the visit type's `retry_count`, the visit is `not_answered` and `next_attempt_at`
  (the call's end + `retry_delay_min`) tells the console when to retry. One more failure
  escalates, with the outcome `not_answered` or `declined`.
* **Watchdog.** An open visit with no outcome escalates once its deadline has passed: a screen
  visit's window end (or its pending retry time + one retry delay, if later); a physical visit's
  window end + `physical_outcome_grace`. With no call at all the reason is `no_call`; a visit
  whose call was answered but never documented escalates as `no_outcome`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Call,
    CallState,
    Channel,
    Outcome,
    OutcomeKind,
    Visit,
    VisitStatus,
    VisitType,
)
from .escalation import FINAL_STATUSES, AlertRaised, escalate

FAILED_CALL_REASONS = ("no_answer", "declined")
LOOKBACK = dt.timedelta(days=2)  # open visits older than this were escalated long ago
STALE_CALL = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class LadderPolicy:
    """The organisation-wide numbers of the ladder (per-type numbers are on VisitType)."""

    task_due: dt.timedelta = dt.timedelta(hours=2)
    physical_grace: dt.timedelta = dt.timedelta(hours=2)


@dataclass(slots=True)
class LadderReport:
    """What one tick of the ladder did; `alerts` and `updated` are pushed after commit."""

    alerts: list[AlertRaised]
    updated: list[Visit]


@dataclass(frozen=True, slots=True)
class _CallFacts:
    """What the calls of one visit say."""

    failed: int
    last_reason: str | None
    last_end: dt.datetime | None
    answered: bool
    live: bool


async def run_ladder(session: AsyncSession, now: dt.datetime, policy: LadderPolicy) -> LadderReport:
    """One tick: count failed attempts, then escalate what is overdue."""
    report = LadderReport([], [])
    rows = (
        await session.execute(
            select(Visit, VisitType)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .where(
                Visit.status.not_in(FINAL_STATUSES),
                Visit.planned_at >= now - LOOKBACK,
                Visit.planned_at <= now + dt.timedelta(hours=6),
            )
            .order_by(Visit.planned_at, Visit.id)
        )
    ).all()
    documented = await _documented(session, [v.id for v, _ in rows])
    calls = await _call_facts(session, [v.id for v, _ in rows], now)
    for visit, vtype in rows:
        if visit.id in documented:
            continue
        facts = calls.get(visit.id, _CallFacts(0, None, None, False, False))
        await _step(session, visit, vtype, facts, now, policy, report)
    return report


async def _step(
    session: AsyncSession,
    visit: Visit,
    vtype: VisitType,
    facts: _CallFacts,
    now: dt.datetime,
    policy: LadderPolicy,
    report: LadderReport,
) -> None:
    """Advance one open visit by what its calls and the clock say."""
    if facts.live:
        return
    if not facts.answered and facts.failed > visit.attempts:
        if facts.failed > vtype.retry_count:
            declined = facts.last_reason == "declined"
            kind = OutcomeKind.DECLINED if declined else OutcomeKind.NOT_ANSWERED
            alert = await escalate(
                session, visit, kind.value, now, task_due=policy.task_due, outcome=kind
            )
            report.alerts += [alert] if alert else []
            return
        await _schedule_retry(session, visit, vtype, facts)
        report.updated.append(visit)
        return
    if now < deadline(visit, vtype, policy):
        return
    reason = "no_outcome" if facts.answered else ("not_answered" if facts.failed else "no_call")
    alert = await escalate(session, visit, reason, now, task_due=policy.task_due)
    report.alerts += [alert] if alert else []


async def _schedule_retry(
    session: AsyncSession, visit: Visit, vtype: VisitType, facts: _CallFacts
) -> None:
    """Record the failed attempts and when to try again."""
    assert facts.last_end is not None  # a failed call has ended
    retry_at = facts.last_end + dt.timedelta(minutes=vtype.retry_delay_min)
    await session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.status.not_in(FINAL_STATUSES))
        .values(status=VisitStatus.NOT_ANSWERED, attempts=facts.failed, next_attempt_at=retry_at)
    )
    visit.status, visit.attempts, visit.next_attempt_at = (
        VisitStatus.NOT_ANSWERED,
        facts.failed,
        retry_at,
    )


def deadline(visit: Visit, vtype: VisitType, policy: LadderPolicy) -> dt.datetime:
    """When an open, undocumented visit escalates (see the module rules)."""
    window_end = visit.planned_at + dt.timedelta(minutes=visit.window_min)
    if visit.channel == Channel.PHYSICAL:
        return window_end + policy.physical_grace
    if visit.next_attempt_at is not None:
        retry_end = visit.next_attempt_at + dt.timedelta(minutes=vtype.retry_delay_min)
        return max(window_end, retry_end)
    return window_end


async def _documented(session: AsyncSession, visit_ids: Sequence[int]) -> set[int]:
    """Visits among `visit_ids` that already have an outcome."""
    if not visit_ids:
        return set()
    return set(
        await session.scalars(
            select(Outcome.visit_id).where(Outcome.visit_id.in_(visit_ids)).distinct()
        )
    )


async def _call_facts(
    session: AsyncSession, visit_ids: Sequence[int], now: dt.datetime
) -> dict[int, _CallFacts]:
    """Per visit: failed attempts, the last failure and whether a call was answered or is live.

    A call left unended by a crashed process stops counting as live after `STALE_CALL`, so it
    cannot hold a visit open for ever.
    """
    if not visit_ids:
        return {}
    rows = await session.execute(
        select(
            Call.visit_id,
            Call.state,
            Call.answered_at,
            Call.ended_at,
            Call.end_reason,
            Call.ring_started_at,
        )
        .where(Call.visit_id.in_(visit_ids))
        .order_by(Call.ring_started_at, Call.id)
    )
    grouped: defaultdict[int, list[_Call]] = defaultdict(list)
    for visit_id, state, answered_at, ended_at, reason, rang in rows:
        if visit_id is None:
            continue
        live = state != CallState.ENDED and rang > now - STALE_CALL
        grouped[visit_id].append(_Call(live, answered_at is not None, ended_at, reason))
    return {visit_id: _facts(calls) for visit_id, calls in grouped.items()}


@dataclass(frozen=True, slots=True)
class _Call:
    """The parts of one call the ladder looks at."""

    live: bool
    answered: bool
    ended_at: dt.datetime | None
    end_reason: str | None


def _facts(calls: Sequence[_Call]) -> _CallFacts:
    """Summarise a visit's calls, oldest first."""
    failed = [
        c
        for c in calls
        if c.ended_at is not None and not c.answered and c.end_reason in FAILED_CALL_REASONS
    ]
    return _CallFacts(
        failed=len(failed),
        last_reason=failed[-1].end_reason if failed else None,
        last_end=failed[-1].ended_at if failed else None,
        answered=any(c.answered for c in calls),
        live=any(c.live for c in calls),
    )
