"""The missed-visit ladder and the watchdog: every ended window gets an outcome or an escalation.

All state is in the database (visit status, attempts, next_attempt_at, calls), so a restart
loses nothing: each tick derives what to do from the rows.

* **Which numbers apply.** The organisation's retry ladder (`OrgSettings.retry_ladder`, set by an
  administrator) is the default for every visit type. A visit type may be stricter, never looser:
  effective retries = min(org retries, type's `retry_count`) and effective delay = min(org
  delay, type's `retry_delay_min`). A type's number that equals the standard ladder (2 retries,
  5 minutes; the column defaults) counts as "not set" and the organisation's number applies
  alone: the columns cannot be empty, and without this rule an administrator raising the ladder
  to 3 retries or 15 minutes would see no effect on any type created with the defaults. So a
  medication type with 1 retry keeps 1 whatever the organisation sets, a type left at 2 × 5
  follows the organisation, and no type ever gets more retries or a longer delay than the
  organisation allows. The settings are read once per tick for all organisations.
* **Ladder.** A call for a visit that ended unanswered or declined is one failed attempt. While
  attempts ≤ the effective retries, the visit is `not_answered` and `next_attempt_at` (the
  call's end + the effective delay) tells the console when to retry. One more failure
  escalates, with the outcome `not_answered` or `declined`.
* **Hand-recorded failures feed the ladder.** A nurse who records "Ikke svaret" or "Borgeren
  afviste" has made a failed attempt, even when the call was answered (the citizen declined in
  the call) or went outside the system. Every call that ended by the time of that outcome
  counts as failed (never twice: the unanswered call she documents is that same attempt), and
  at least one attempt counts. The visit then retries and escalates like any other; the
  escalation keeps her outcome instead of adding a second one.
* **Watchdog.** An open visit with no outcome escalates once its deadline has passed: a screen
  visit's window end (or its pending retry time + one effective delay, if later); a physical
  visit's window end + `physical_outcome_grace`. A visit whose call was answered gets until its
  last answered call's end + the documentation grace (if later than the window end): the
  organisation's `outcome_edit_minutes`, at least `MIN_DOCUMENTATION_GRACE` (30 minutes), so a
  nurse who documents right after a call that ran over the window, or after the next call, is
  not escalated under her hands. With no call at all the reason is `no_call`; an answered call
  never documented escalates as `no_outcome`; failed calls escalate as `not_answered` /
  `declined`.
* **Escalation** follows the organisation's `alert_team`, `create_physical_task` and
  `notify_relative` choices (see `escalation`); the visit is marked missed and audited always.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..models import (
    Call,
    CallState,
    Channel,
    Organisation,
    Outcome,
    OutcomeKind,
    Visit,
    VisitStatus,
    VisitType,
)
from ..orgsettings import OrgSettings, RetryLadder, read_settings
from .escalation import FINAL_STATUSES, AlertRaised, escalate

FAILED_CALL_REASONS = ("no_answer", "declined")
LOOKBACK = dt.timedelta(days=2)  # open visits older than this were escalated long ago
STALE_CALL = dt.timedelta(hours=2)
STANDARD = RetryLadder()  # equal to VisitType's column defaults: a type's "not set"
MIN_DOCUMENTATION_GRACE = dt.timedelta(minutes=30)
# Outcomes a nurse records when the visit did not happen but may still be retried.
# A nurse's "declined" is the citizen's own answer: final, never retried (console/outcomes.py).
FAILURE_OUTCOMES = (OutcomeKind.NOT_ANSWERED,)


@dataclass(frozen=True, slots=True)
class LadderPolicy:
    """The organisation-wide numbers of the ladder (per-type numbers are on VisitType)."""

    task_due: dt.timedelta = dt.timedelta(hours=2)
    physical_grace: dt.timedelta = dt.timedelta(hours=2)


@dataclass(slots=True)
class LadderReport:
    """What one tick of the ladder did; `alerts` and `updated` are pushed after commit.

    `updated` holds visits given a retry, and escalated visits that raised no alert (the
    organisation turned alerts off), so open consoles still see them turn missed.
    """

    alerts: list[AlertRaised]
    updated: list[Visit]


@dataclass(frozen=True, slots=True)
class Rule:
    """The ladder one visit follows: its effective numbers and the organisation's steps."""

    retries: int
    delay: dt.timedelta
    steps: RetryLadder
    documentation_grace: dt.timedelta = MIN_DOCUMENTATION_GRACE


def effective_rule(org: RetryLadder, vtype: VisitType, edit_minutes: int = 0) -> Rule:
    """The organisation's ladder, made stricter by the visit type (see the module rules)."""
    retries, delay = org.retries, org.delay_min
    if vtype.retry_count != STANDARD.retries:
        retries = min(retries, vtype.retry_count)
    if vtype.retry_delay_min != STANDARD.delay_min:
        delay = min(delay, vtype.retry_delay_min)
    grace = max(dt.timedelta(minutes=edit_minutes), MIN_DOCUMENTATION_GRACE)
    return Rule(max(retries, 0), dt.timedelta(minutes=max(delay, 1)), org, grace)


@dataclass(frozen=True, slots=True)
class _CallFacts:
    """What the calls of one visit say."""

    failed: int
    last_reason: str | None
    last_end: dt.datetime | None
    answered: bool
    live: bool
    answered_end: dt.datetime | None = None


NO_CALLS = _CallFacts(0, None, None, False, False)


@dataclass(frozen=True, slots=True)
class _HandFailure:
    """A nurse's "not answered" / "declined" outcome in force for the visit."""

    kind: OutcomeKind
    at: dt.datetime


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
    ids = [v.id for v, _ in rows]
    outcomes = await _outcomes_in_force(session, ids)
    calls = await _calls(session, ids, now)
    settings = await org_settings(session, {vtype.organisation_id for _, vtype in rows})
    for visit, vtype in rows:
        outcome = outcomes.get(visit.id)
        if outcome is not None and outcome.kind not in FAILURE_OUTCOMES:
            continue
        facts = _facts(calls.get(visit.id, []), outcome)
        org = settings.get(vtype.organisation_id, DEFAULT_SETTINGS)
        rule = effective_rule(org.retry_ladder, vtype, org.outcome_edit_minutes)
        await _step(session, visit, rule, facts, now, policy, report)
    return report


DEFAULT_SETTINGS = OrgSettings()


async def org_settings(session: AsyncSession, org_ids: set[int]) -> dict[int, OrgSettings]:
    """Each organisation's settings (retry ladder, edit window), in one query."""
    if not org_ids:
        return {}
    rows = await session.execute(
        select(Organisation.id, Organisation.settings).where(Organisation.id.in_(org_ids))
    )
    return {org_id: read_settings(stored) for org_id, stored in rows}


async def _step(
    session: AsyncSession,
    visit: Visit,
    rule: Rule,
    facts: _CallFacts,
    now: dt.datetime,
    policy: LadderPolicy,
    report: LadderReport,
) -> None:
    """Advance one open visit by what its calls and the clock say."""
    if facts.live:
        return
    if not facts.answered and facts.failed > visit.attempts:
        if facts.failed > rule.retries:
            kind = _failure_kind(facts)
            await _escalate(session, visit, kind.value, now, rule, policy, report, kind)
            return
        await _schedule_retry(session, visit, rule, facts)
        report.updated.append(visit)
        return
    if now < deadline(visit, rule, policy, facts.answered_end):
        return
    if facts.answered:
        await _escalate(session, visit, "no_outcome", now, rule, policy, report)
    elif facts.failed:
        kind = _failure_kind(facts)
        await _escalate(session, visit, kind.value, now, rule, policy, report, kind)
    else:
        await _escalate(session, visit, "no_call", now, rule, policy, report)


def _failure_kind(facts: _CallFacts) -> OutcomeKind:
    """The outcome of a visit whose attempts failed: declined if the last one was."""
    return OutcomeKind.DECLINED if facts.last_reason == "declined" else OutcomeKind.NOT_ANSWERED


async def _escalate(
    session: AsyncSession,
    visit: Visit,
    reason: str,
    now: dt.datetime,
    rule: Rule,
    policy: LadderPolicy,
    report: LadderReport,
    outcome: OutcomeKind | None = None,
) -> None:
    """Escalate with the organisation's steps and report what the consoles must hear."""
    done = await escalate(
        session, visit, reason, now, task_due=policy.task_due, steps=rule.steps, outcome=outcome
    )
    if done is None:
        return
    if done.alert is not None:
        report.alerts.append(done.alert)
    else:
        report.updated.append(visit)


async def _schedule_retry(
    session: AsyncSession, visit: Visit, rule: Rule, facts: _CallFacts
) -> None:
    """Record the failed attempts and when to try again."""
    assert facts.last_end is not None  # a failed call has ended
    retry_at = facts.last_end + rule.delay
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


def deadline(
    visit: Visit, rule: Rule, policy: LadderPolicy, answered_end: dt.datetime | None = None
) -> dt.datetime:
    """When an open, undocumented visit escalates (see the module rules)."""
    window_end = visit.planned_at + dt.timedelta(minutes=visit.window_min)
    if visit.channel == Channel.PHYSICAL:
        return window_end + policy.physical_grace
    ends = [window_end]
    if visit.next_attempt_at is not None:
        ends.append(visit.next_attempt_at + rule.delay)
    if answered_end is not None:
        ends.append(answered_end + rule.documentation_grace)
    return max(ends)


async def _outcomes_in_force(
    session: AsyncSession, visit_ids: Sequence[int]
) -> dict[int, _HandFailure]:
    """Per visit among `visit_ids`: the kind and time of its outcome in force, if any."""
    if not visit_ids:
        return {}
    newer = aliased(Outcome)
    rows = await session.execute(
        select(Outcome.visit_id, Outcome.kind, Outcome.recorded_at).where(
            Outcome.visit_id.in_(visit_ids),
            ~select(newer.id).where(newer.amends_id == Outcome.id).exists(),
        )
    )
    return {visit_id: _HandFailure(kind, at) for visit_id, kind, at in rows}


async def _calls(
    session: AsyncSession, visit_ids: Sequence[int], now: dt.datetime
) -> dict[int, list[_Call]]:
    """Per visit, its calls oldest first.

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
    return grouped


@dataclass(frozen=True, slots=True)
class _Call:
    """The parts of one call the ladder looks at."""

    live: bool
    answered: bool
    ended_at: dt.datetime | None
    end_reason: str | None


def _facts(calls: Sequence[_Call], outcome: _HandFailure | None) -> _CallFacts:
    """Summarise a visit's calls (oldest first) and a hand-recorded failure (module rules)."""
    if not calls and outcome is None:
        return NO_CALLS

    def covered(c: _Call) -> bool:
        """Ended by the time the nurse recorded the failure: that failure's attempt."""
        return outcome is not None and c.ended_at is not None and c.ended_at <= outcome.at

    failed = [c for c in calls if covered(c) or _failed(c)]
    answered = [c for c in calls if c.answered and not covered(c)]
    count, last_reason = len(failed), failed[-1].end_reason if failed else None
    last_end = failed[-1].ended_at if failed else None
    if outcome is not None and not (failed and not covered(failed[-1])):
        # The nurse's record is the newest failure: its kind decides declined / not answered.
        count = max(count, 1)
        last_reason = "declined" if outcome.kind is OutcomeKind.DECLINED else "no_answer"
        last_end = last_end or outcome.at
    ends = [c.ended_at for c in answered if c.ended_at is not None]
    return _CallFacts(
        failed=count,
        last_reason=last_reason,
        last_end=last_end,
        answered=bool(answered),
        live=any(c.live for c in calls),
        answered_end=max(ends) if ends else None,
    )


def _failed(call: _Call) -> bool:
    """An ended call nobody answered, or that the citizen declined."""
    return (
        call.ended_at is not None and not call.answered and call.end_reason in FAILED_CALL_REASONS
    )
