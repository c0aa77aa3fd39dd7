"""The visit's pure rules: the transition table, calls and outcomes, windows, the call list."""

from __future__ import annotations

import datetime as dt

import pytest

from server.visits.status import (
    EVERY,
    FINAL,
    OPEN,
    REOPEN_WITHIN,
    TRANSITIONS,
    Change,
    ListStatus,
    Window,
    after_call,
    after_outcome,
    list_status,
    on_time,
    transition,
    untouched,
)
from server.vocabulary import EndReason, OutcomeKind, VisitStatus

T0 = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
P, R, C, D, N, M, X = (
    VisitStatus.PLANNED,
    VisitStatus.RINGING,
    VisitStatus.IN_CALL,
    VisitStatus.DONE,
    VisitStatus.NOT_ANSWERED,
    VisitStatus.MISSED,
    VisitStatus.CANCELLED,
)

# For each change, the status it leaves from each status (None: the change does not apply).
#            planned ringing in_call done not_answ missed cancelled
EXPECTED: dict[Change, tuple[VisitStatus | None, ...]] = {
    Change.RING: (R, R, R, None, R, None, None),
    Change.ANSWER: (C, C, C, None, C, None, None),
    Change.CALL_FAILED: (N, N, N, None, N, None, None),
    Change.CALL_OVER: (P, P, P, None, P, None, None),
    Change.CALL_OVER_AFTER_ATTEMPTS: (N, N, N, None, N, None, None),
    Change.RETRY: (N, N, N, None, N, None, None),
    Change.ESCALATE: (M, M, M, None, M, None, None),
    Change.PLAN_CANCEL: (X, None, None, None, None, None, None),
    Change.PLAN_REVIVE: (None, None, None, None, None, None, P),
    Change.OUTCOME_DONE: (D, D, D, D, D, D, D),
    Change.OUTCOME_NOT_ANSWERED: (N, N, N, N, N, None, N),
    Change.OUTCOME_NOT_ANSWERED_LATE: (M, M, M, M, M, M, M),
    Change.OUTCOME_CANCELLED: (X, X, X, X, X, X, X),
}
ORDER = (P, R, C, D, N, M, X)


def test_transition_table_covers_every_change() -> None:
    """Every change has a row in the table, and the test's table has one for each."""
    assert set(TRANSITIONS) == set(Change) == set(EXPECTED)
    assert set(ORDER) == EVERY and {D, M, X} == FINAL and OPEN == EVERY - FINAL


@pytest.mark.parametrize("change", list(Change))
def test_transition_from_every_status(change: Change) -> None:
    """The table, status by status."""
    assert tuple(transition(status, change) for status in ORDER) == EXPECTED[change]


def test_transition_final_states_move_only_by_outcome() -> None:
    """Done, missed and cancelled are left only by a recorded outcome or a plan's revival."""
    leaving = {
        change
        for change in Change
        for status in FINAL
        if (target := transition(status, change)) is not None and target is not status
    }
    outcome_changes = {c for c in Change if c.value.startswith("outcome_")}
    assert leaving <= outcome_changes | {Change.PLAN_REVIVE}


@pytest.mark.parametrize(
    ("reason", "attempts", "change"),
    [
        (EndReason.DECLINED, 0, Change.CALL_FAILED),
        (EndReason.NO_ANSWER, 2, Change.CALL_FAILED),
        (EndReason.HANGUP, 0, Change.CALL_OVER),
        (EndReason.CANCELLED, 0, Change.CALL_OVER),
        (EndReason.CONNECTION_LOST, 0, Change.CALL_OVER),
        (EndReason.HANGUP, 1, Change.CALL_OVER_AFTER_ATTEMPTS),
        (EndReason.CANCELLED, 3, Change.CALL_OVER_AFTER_ATTEMPTS),
    ],
)
def test_after_call(reason: EndReason, attempts: int, change: Change) -> None:
    """Declined and rung-out calls are failed attempts; other ends reopen the visit."""
    assert after_call(reason, attempts) is change


@pytest.mark.parametrize(
    ("kind", "recorded_after", "change"),
    [
        (OutcomeKind.COMPLETED, MIN, Change.OUTCOME_DONE),
        (OutcomeKind.PARTLY_COMPLETED, MIN, Change.OUTCOME_DONE),
        (OutcomeKind.DECLINED, MIN, Change.OUTCOME_DONE),
        (OutcomeKind.TECHNICAL_FAILURE, MIN, Change.OUTCOME_DONE),
        (OutcomeKind.CONVERTED_TO_PHYSICAL, MIN, Change.OUTCOME_DONE),
        (OutcomeKind.CANCELLED, MIN, Change.OUTCOME_CANCELLED),
        (OutcomeKind.NOT_ANSWERED, MIN, Change.OUTCOME_NOT_ANSWERED),
        (OutcomeKind.NOT_ANSWERED, REOPEN_WITHIN, Change.OUTCOME_NOT_ANSWERED),
        (OutcomeKind.NOT_ANSWERED, REOPEN_WITHIN + MIN, Change.OUTCOME_NOT_ANSWERED_LATE),
        (OutcomeKind.COMPLETED, REOPEN_WITHIN * 4, Change.OUTCOME_DONE),
    ],
)
def test_after_outcome(kind: OutcomeKind, recorded_after: dt.timedelta, change: Change) -> None:
    """Only "not answered" keeps a visit open, and only while it is recent."""
    assert after_outcome(kind, T0, T0 + recorded_after) is change


def test_window_edges_are_inside() -> None:
    """The window runs from planned - window to planned + window, both ends included."""
    window = Window(T0, 15)
    assert (window.start, window.end) == (T0 - 15 * MIN, T0 + 15 * MIN)
    assert window.contains(window.start) and window.contains(window.end)
    assert not window.contains(window.start - MIN) and not window.contains(window.end + MIN)
    assert window.has_begun(window.start) and not window.has_begun(window.start - MIN)
    assert window.has_ended(window.end) and not window.has_ended(window.end - MIN)
    assert on_time(window, window.end) and not on_time(window, window.end + MIN)


@pytest.mark.parametrize(
    ("status", "attempts", "now", "expected"),
    [
        (P, 0, T0 - 16 * MIN, True),
        (P, 0, T0 - 15 * MIN, False),  # the window has begun
        (P, 1, T0 - 60 * MIN, False),  # attempted
        (N, 0, T0 - 60 * MIN, False),
        (X, 0, T0 - 60 * MIN, False),
    ],
)
def test_untouched(status: VisitStatus, attempts: int, now: dt.datetime, expected: bool) -> None:
    """Only planned, never attempted visits whose window has not begun follow plan edits."""
    assert untouched(status, attempts, Window(T0, 15), now) is expected


@pytest.mark.parametrize(
    ("stored", "minutes_from_plan", "expected"),
    [
        (VisitStatus.PLANNED, -16, ListStatus.PLANNED),
        (VisitStatus.PLANNED, -15, ListStatus.DUE),
        (VisitStatus.PLANNED, 15, ListStatus.DUE),
        (VisitStatus.PLANNED, 16, ListStatus.LATE),
        (VisitStatus.RINGING, 0, ListStatus.RINGING),
        (VisitStatus.IN_CALL, 0, ListStatus.IN_CALL),
        (VisitStatus.DONE, 99, ListStatus.DONE),
        (VisitStatus.NOT_ANSWERED, 99, ListStatus.NOT_ANSWERED),
        (VisitStatus.MISSED, 99, ListStatus.ESCALATED),
        (VisitStatus.CANCELLED, -99, ListStatus.CANCELLED),
    ],
)
def test_list_status_from_stored_state_and_clock(
    stored: VisitStatus, minutes_from_plan: int, expected: ListStatus
) -> None:
    """Planned before the window, due inside it, late after it; stored states win."""
    now = T0 + dt.timedelta(minutes=minutes_from_plan)
    assert list_status(stored, Window(T0, 15), now) is expected
