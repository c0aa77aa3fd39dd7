"""The missed-visit ladder and the watchdog as a pure decision: what to do next for one visit.

``decide(visit, calls, outcome, rule, policy, now)`` looks only at its arguments (no I/O, no
clock) and returns an action: wait, schedule a retry, or escalate. ``ladder_run`` reads the
rows, asks ``decide`` for each open visit and carries out the answer; all state is in the
database (visit status, attempts, next_attempt_at, calls), so a restart loses nothing.

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
* **A decline on the tablet** follows the organisation's refusal policy
  (`OrgSettings.tablet_refusal`): `retry` (the default) treats it as any failed attempt;
  `final` takes the citizen's "no" as the answer and escalates at once with the outcome
  `declined`; `ask` counts the attempt, sets no retry time and asks the team in its inbox
  whether to ring again (a `declined_call` item); the window's deadline escalates as declined
  if nobody did.
* **Attempts that never reached the citizen** (the tablet was offline, the citizen was in another
  call, the server that held the call was lost: ``vocabulary.TECHNICAL``) are attempts, but not
  failed ones: they do not use up retries. A window that closes after only such attempts
  escalates as `technical_failure`, with that outcome and a message saying what was tried.
* **Hand-recorded failures feed the ladder.** A nurse who records "Ikke svaret" or "Borgeren
  afviste" has made a failed attempt, even when the call was answered (the citizen declined in
  the call) or went outside the system. Every call that ended by the time of that outcome
  counts as failed (never twice: the unanswered call she documents is that same attempt), and
  at least one attempt counts. The visit then retries and escalates like any other; the
  escalation keeps her outcome instead of adding a second one.
* **Live calls.** An unended call holds the ladder back while its process vouches for it (its
  lease, see ``signaling.leases``); a call whose lease ran out no longer counts as live.
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..orgsettings import RetryLadder
from ..visits.status import Window
from ..vocabulary import TECHNICAL, CallState, Channel, EndReason, OutcomeKind, TabletRefusal

FAILED_CALL_REASONS = frozenset({EndReason.NO_ANSWER, EndReason.DECLINED})
# A call row from before leases (no lease) left unended by a crashed process stops counting.
STALE_CALL = dt.timedelta(hours=2)
STANDARD = RetryLadder()  # equal to VisitType's column defaults: a type's "not set"
MIN_DOCUMENTATION_GRACE = dt.timedelta(minutes=30)
# Outcomes a nurse records when the visit did not happen but may still be retried.
# A nurse's "declined" is the citizen's own answer: final, never retried (visits/status.py).
FAILURE_OUTCOMES = frozenset({OutcomeKind.NOT_ANSWERED})


@dataclass(frozen=True, slots=True)
class LadderPolicy:
    """The organisation-wide numbers of the ladder (per-type numbers are on VisitType)."""

    task_due: dt.timedelta = dt.timedelta(hours=2)
    physical_grace: dt.timedelta = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Rule:
    """The ladder one visit follows: its effective numbers and the organisation's steps."""

    retries: int
    delay: dt.timedelta
    steps: RetryLadder
    documentation_grace: dt.timedelta = MIN_DOCUMENTATION_GRACE
    refusal: TabletRefusal = TabletRefusal.RETRY


class TypeLadder(Protocol):
    """A visit type's own ladder numbers (``VisitType`` has them)."""

    @property
    def retry_count(self) -> int: ...
    @property
    def retry_delay_min(self) -> int: ...


def effective_rule(
    org: RetryLadder,
    vtype: TypeLadder,
    edit_minutes: int = 0,
    refusal: TabletRefusal = TabletRefusal.RETRY,
) -> Rule:
    """The organisation's ladder, made stricter by the visit type (see the module rules)."""
    retries, delay = org.retries, org.delay_min
    if vtype.retry_count != STANDARD.retries:
        retries = min(retries, vtype.retry_count)
    if vtype.retry_delay_min != STANDARD.delay_min:
        delay = min(delay, vtype.retry_delay_min)
    grace = max(dt.timedelta(minutes=edit_minutes), MIN_DOCUMENTATION_GRACE)
    return Rule(max(retries, 0), dt.timedelta(minutes=max(delay, 1)), org, grace, refusal)


@dataclass(frozen=True, slots=True)
class VisitState:
    """The parts of an open visit the ladder looks at."""

    planned_at: dt.datetime
    window_min: int
    channel: Channel
    attempts: int
    next_attempt_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The parts of one of the visit's calls the ladder looks at."""

    state: CallState
    rang_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    lease_until: dt.datetime | None = None

    def live(self, now: dt.datetime) -> bool:
        """Not ended, and its process still vouches for it (a lease not run out; a row without
        a lease stops counting after ``STALE_CALL``)."""
        if self.state is CallState.ENDED:
            return False
        if self.lease_until is not None:
            return self.lease_until >= now
        return self.rang_at > now - STALE_CALL

    @property
    def technical(self) -> bool:
        """An attempt that never reached the citizen: refused at once, or its server was lost."""
        unanswered = self.ended_at is not None and self.answered_at is None
        return unanswered and self.end_reason in TECHNICAL

    @property
    def failed(self) -> bool:
        """An ended call nobody answered, or that the citizen declined."""
        return (
            self.ended_at is not None
            and self.answered_at is None
            and self.end_reason in FAILED_CALL_REASONS
        )


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """The visit's outcome in force: its kind and when it was recorded."""

    kind: OutcomeKind
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Tried:
    """Attempts that never reached the citizen: how many for each end reason, first and last."""

    reasons: tuple[tuple[str, int], ...]
    first: dt.datetime
    last: dt.datetime

    @property
    def count(self) -> int:
        """How many attempts in all."""
        return sum(n for _, n in self.reasons)


def tried(calls: Sequence[CallRecord]) -> Tried | None:
    """The technical attempts among ``calls`` (oldest first); None when there were none."""
    failed = [c for c in calls if c.technical]
    if not failed:
        return None
    counts: dict[str, int] = {}
    for call in failed:
        counts[call.end_reason or ""] = counts.get(call.end_reason or "", 0) + 1
    return Tried(tuple(counts.items()), failed[0].rang_at, failed[-1].rang_at)


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the calls of one visit (and a hand-recorded failure) add up to."""

    failed: int
    last_reason: str | None
    last_end: dt.datetime | None
    answered: bool
    live: bool
    answered_end: dt.datetime | None = None
    tried: Tried | None = None

    @property
    def failure_kind(self) -> OutcomeKind:
        """The outcome of a visit whose attempts failed: declined if the last one was."""
        declined = self.last_reason == EndReason.DECLINED
        return OutcomeKind.DECLINED if declined else OutcomeKind.NOT_ANSWERED


NO_CALLS = CallFacts(0, None, None, False, False)


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do yet."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Count the failed attempts and ring again at ``at``."""

    attempts: int
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Ask:
    """The citizen declined on the tablet and the organisation lets the nurse decide: count the
    failed attempts and ask the team whether to ring again (no retry time is set)."""

    attempts: int


@dataclass(frozen=True, slots=True)
class Escalate:
    """Give up: ``reason`` says why; ``outcome`` is the ladder's own outcome, if any; ``tried``
    lists the attempts that never reached the citizen (a technical failure)."""

    reason: str
    outcome: OutcomeKind | None = None
    tried: Tried | None = None


Action = Wait | Retry | Ask | Escalate


def decide(
    visit: VisitState,
    calls: Sequence[CallRecord],
    outcome: RecordedOutcome | None,
    rule: Rule,
    policy: LadderPolicy,
    now: dt.datetime,
) -> Action:
    """The next step for one open visit (see the module rules)."""
    if outcome is not None and outcome.kind not in FAILURE_OUTCOMES:
        return Wait()  # documented: the outcome decides, not the ladder
    facts = call_facts(calls, outcome, now)
    if facts.live:
        return Wait()
    if not facts.answered and facts.failed > visit.attempts:
        return after_failure(facts, rule)
    if now < deadline(visit, rule, policy, facts.answered_end):
        return Wait()
    if facts.answered:
        return Escalate("no_outcome")
    if facts.failed:
        return Escalate(facts.failure_kind.value, facts.failure_kind)
    if facts.tried is not None:
        return Escalate("technical_failure", OutcomeKind.TECHNICAL_FAILURE, facts.tried)
    return Escalate("no_call")


def after_failure(facts: CallFacts, rule: Rule) -> Action:
    """A new failed attempt: retry, ask the nurse, or escalate (the organisation's refusal
    policy decides what a decline on the tablet leads to)."""
    declined = facts.last_reason == EndReason.DECLINED
    if declined and rule.refusal is TabletRefusal.FINAL:
        return Escalate(OutcomeKind.DECLINED.value, OutcomeKind.DECLINED)
    if declined and rule.refusal is TabletRefusal.ASK:
        return Ask(facts.failed)
    if facts.failed > rule.retries:
        return Escalate(facts.failure_kind.value, facts.failure_kind)
    assert facts.last_end is not None  # a failed call has ended
    return Retry(facts.failed, facts.last_end + rule.delay)


def deadline(
    visit: VisitState, rule: Rule, policy: LadderPolicy, answered_end: dt.datetime | None = None
) -> dt.datetime:
    """When an open, undocumented visit escalates (see the module rules)."""
    window_end = Window(visit.planned_at, visit.window_min).end
    if visit.channel == Channel.PHYSICAL:
        return window_end + policy.physical_grace
    ends = [window_end]
    if visit.next_attempt_at is not None:
        ends.append(visit.next_attempt_at + rule.delay)
    if answered_end is not None:
        ends.append(answered_end + rule.documentation_grace)
    return max(ends)


def call_facts(
    calls: Sequence[CallRecord], outcome: RecordedOutcome | None, now: dt.datetime
) -> CallFacts:
    """Summarise a visit's calls (oldest first) and a hand-recorded failure (module rules)."""
    if not calls and outcome is None:
        return NO_CALLS

    def covered(c: CallRecord) -> bool:
        """Ended by the time the nurse recorded the failure: that failure's attempt."""
        return outcome is not None and c.ended_at is not None and c.ended_at <= outcome.at

    failed = [c for c in calls if covered(c) or c.failed]
    answered = [c for c in calls if c.answered_at is not None and not covered(c)]
    count, last_reason = len(failed), failed[-1].end_reason if failed else None
    last_end = failed[-1].ended_at if failed else None
    if outcome is not None and not (failed and not covered(failed[-1])):
        # The nurse's record is the newest failure: its kind decides declined / not answered.
        count = max(count, 1)
        declined = outcome.kind is OutcomeKind.DECLINED
        last_reason = EndReason.DECLINED if declined else EndReason.NO_ANSWER
        last_end = last_end or outcome.at
    ends = [c.ended_at for c in answered if c.ended_at is not None]
    return CallFacts(
        failed=count,
        last_reason=last_reason,
        last_end=last_end,
        answered=bool(answered),
        live=any(c.live(now) for c in calls),
        answered_end=max(ends) if ends else None,
        tried=tried(calls),
    )
