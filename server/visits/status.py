"""A visit's life as pure rules: the status transition table, its window and on-time rule.

No I/O and no clock: callers pass ``now``. ``lifecycle.py`` is the only module that writes
``Visit.status``, and it writes only what ``TRANSITIONS`` allows.

* **Final states** are done, missed and cancelled: nothing but a recorded outcome moves a
  visit out of them (a nurse documents that a missed visit happened after all).
* **Calls** move an open visit: ringing, in call, and back when the call ends, to "not
  answered" after a failed attempt (declined or rung out) or once attempts were made, else to
  "planned".
* **The missed-visit ladder** schedules a retry ("not answered") or escalates ("missed").
* **Plans** cancel untouched planned visits and revive the ones a plan edit cancelled.
* **Outcomes** decide the status they leave: "not answered" stays open for the ladder (unless
  recorded long after the visit, or the ladder already escalated it), "cancelled" cancels, any
  other outcome is done.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..vocabulary import EndReason, OutcomeKind, VisitStatus

FINAL = frozenset({VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED})
OPEN = frozenset(VisitStatus) - FINAL
LIVE = frozenset({VisitStatus.RINGING, VisitStatus.IN_CALL})
EVERY = frozenset(VisitStatus)
# A "not answered" recorded later than this after the planned time closes the visit as missed
# instead of reopening it for retries (the ladder looks back two days at most).
REOPEN_WITHIN = dt.timedelta(hours=12)
FAILED_CALLS = frozenset({EndReason.DECLINED, EndReason.NO_ANSWER})


class Change(enum.StrEnum):
    """Something that happens to a visit and may move its status."""

    RING = "ring"
    ANSWER = "answer"
    CALL_FAILED = "call_failed"  # declined or rung out: a failed attempt
    CALL_OVER = "call_over"  # any other end, before any attempt was counted
    CALL_OVER_AFTER_ATTEMPTS = "call_over_after_attempts"
    RETRY = "retry"  # the ladder counted failed attempts and set the next one
    ESCALATE = "escalate"
    PLAN_CANCEL = "plan_cancel"
    PLAN_REVIVE = "plan_revive"
    OUTCOME_DONE = "outcome_done"
    OUTCOME_NOT_ANSWERED = "outcome_not_answered"
    OUTCOME_NOT_ANSWERED_LATE = "outcome_not_answered_late"
    OUTCOME_CANCELLED = "outcome_cancelled"


@dataclass(frozen=True, slots=True)
class Transition:
    """From which statuses a change applies, and the status it leaves."""

    sources: frozenset[VisitStatus]
    target: VisitStatus


TRANSITIONS: Mapping[Change, Transition] = MappingProxyType(
    {
        Change.RING: Transition(OPEN, VisitStatus.RINGING),
        Change.ANSWER: Transition(OPEN, VisitStatus.IN_CALL),
        Change.CALL_FAILED: Transition(OPEN, VisitStatus.NOT_ANSWERED),
        Change.CALL_OVER: Transition(OPEN, VisitStatus.PLANNED),
        Change.CALL_OVER_AFTER_ATTEMPTS: Transition(OPEN, VisitStatus.NOT_ANSWERED),
        Change.RETRY: Transition(OPEN, VisitStatus.NOT_ANSWERED),
        Change.ESCALATE: Transition(OPEN, VisitStatus.MISSED),
        Change.PLAN_CANCEL: Transition(frozenset({VisitStatus.PLANNED}), VisitStatus.CANCELLED),
        Change.PLAN_REVIVE: Transition(frozenset({VisitStatus.CANCELLED}), VisitStatus.PLANNED),
        Change.OUTCOME_DONE: Transition(EVERY, VisitStatus.DONE),
        # A visit the ladder already escalated stays missed: reopening it would escalate twice.
        Change.OUTCOME_NOT_ANSWERED: Transition(
            EVERY - {VisitStatus.MISSED}, VisitStatus.NOT_ANSWERED
        ),
        Change.OUTCOME_NOT_ANSWERED_LATE: Transition(EVERY, VisitStatus.MISSED),
        Change.OUTCOME_CANCELLED: Transition(EVERY, VisitStatus.CANCELLED),
    }
)


def transition(current: VisitStatus, change: Change) -> VisitStatus | None:
    """The status ``change`` leaves a visit in ``current``; None when it does not apply."""
    rule = TRANSITIONS[change]
    return rule.target if current in rule.sources else None


def after_call(reason: EndReason, attempts: int) -> Change:
    """How a call's end moves its visit: a failed attempt, or back to open."""
    if reason in FAILED_CALLS:
        return Change.CALL_FAILED
    return Change.CALL_OVER_AFTER_ATTEMPTS if attempts else Change.CALL_OVER


def after_outcome(kind: OutcomeKind, planned_at: dt.datetime, now: dt.datetime) -> Change:
    """How recording an outcome of ``kind`` at ``now`` moves the visit.

    "Not answered" leaves the visit open for the ladder's retries; a refusal the nurse heard
    from the citizen ("declined") is final: her own voice is not overruled by ringing again.
    """
    if kind is OutcomeKind.CANCELLED:
        return Change.OUTCOME_CANCELLED
    if kind is not OutcomeKind.NOT_ANSWERED:
        return Change.OUTCOME_DONE
    if now > planned_at + REOPEN_WITHIN:
        # A correction of an old visit: ringing or escalating days later helps nobody.
        return Change.OUTCOME_NOT_ANSWERED_LATE
    return Change.OUTCOME_NOT_ANSWERED


@dataclass(frozen=True, slots=True)
class Window:
    """A visit's planned time and the ± tolerance agreed with the citizen."""

    planned_at: dt.datetime
    window_min: int = 15

    @property
    def start(self) -> dt.datetime:
        """When the visit may start."""
        return self.planned_at - dt.timedelta(minutes=self.window_min)

    @property
    def end(self) -> dt.datetime:
        """When the window closes."""
        return self.planned_at + dt.timedelta(minutes=self.window_min)

    def contains(self, moment: dt.datetime) -> bool:
        """True within ``window_min`` minutes either side of the planned time (ends included)."""
        return self.start <= moment <= self.end

    def has_begun(self, now: dt.datetime) -> bool:
        """The window has opened by ``now``."""
        return self.start <= now

    def has_ended(self, now: dt.datetime) -> bool:
        """The window is over by ``now``."""
        return self.end <= now


def on_time(window: Window, first_ring: dt.datetime) -> bool:
    """A visit is on time when its first call rang inside its window."""
    return window.contains(first_ring)


def untouched(status: VisitStatus, attempts: int, window: Window, now: dt.datetime) -> bool:
    """Planned, never attempted, and its window has not begun: free to follow plan edits."""
    return status is VisitStatus.PLANNED and attempts == 0 and not window.has_begun(now)


class ListStatus(enum.StrEnum):
    """A visit's status as the nurse sees it on the call list ("I dag")."""

    PLANNED = "planned"
    DUE = "due"
    LATE = "late"
    RINGING = "ringing"
    IN_CALL = "in_call"
    DONE = "done"
    NOT_ANSWERED = "not_answered"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


_SHOWN_AS: Mapping[VisitStatus, ListStatus] = MappingProxyType(
    {
        VisitStatus.RINGING: ListStatus.RINGING,
        VisitStatus.IN_CALL: ListStatus.IN_CALL,
        VisitStatus.DONE: ListStatus.DONE,
        VisitStatus.NOT_ANSWERED: ListStatus.NOT_ANSWERED,
        VisitStatus.MISSED: ListStatus.ESCALATED,
        VisitStatus.CANCELLED: ListStatus.CANCELLED,
    }
)

# Statuses after which nothing is left to do for the visit (the list shows them last).
FINISHED = frozenset({ListStatus.DONE, ListStatus.ESCALATED, ListStatus.CANCELLED})


def list_status(stored: VisitStatus, window: Window, now: dt.datetime) -> ListStatus:
    """Planned before the window opens, due inside it, late after it; stored states win."""
    if stored is not VisitStatus.PLANNED:
        return _SHOWN_AS[stored]
    if now < window.start:
        return ListStatus.PLANNED
    if now <= window.end:
        return ListStatus.DUE
    return ListStatus.LATE
