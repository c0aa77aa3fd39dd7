"""The missed-visit ladder's decision, table-tested: (visit, calls, outcome, rule, now) → action."""

from __future__ import annotations

import datetime as dt

import pytest

from server.orgsettings import RetryLadder
from server.scheduling.ladder import (
    STALE_CALL,
    Action,
    Ask,
    CallRecord,
    Escalate,
    LadderPolicy,
    RecordedOutcome,
    Retry,
    Rule,
    Tried,
    VisitState,
    Wait,
    decide,
)
from server.vocabulary import CallState, Channel, OutcomeKind, TabletRefusal

T0 = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)  # the planned time
MIN = dt.timedelta(minutes=1)
RULE = Rule(retries=2, delay=5 * MIN, steps=RetryLadder(), documentation_grace=30 * MIN)
POLICY = LadderPolicy(task_due=2 * 60 * MIN, physical_grace=2 * 60 * MIN)
SCREEN = VisitState(T0, 15, Channel.SCREEN, attempts=0, next_attempt_at=None)
PHYSICAL = VisitState(T0, 15, Channel.PHYSICAL, attempts=0, next_attempt_at=None)


def rang(
    at: int, *, answered: bool = False, lasted: int = 1, reason: str = "no_answer"
) -> CallRecord:
    """A call that rang ``at`` minutes after the planned time and ended ``lasted`` later."""
    start = T0 + at * MIN
    end = start + lasted * MIN
    return CallRecord(
        CallState.ENDED, start, start if answered else None, end, "hangup" if answered else reason
    )


def ringing(at: int, lease: int | None = None) -> CallRecord:
    """A call still ringing since ``at`` minutes after the planned time (its lease, if any,
    runs until ``lease`` minutes after it)."""
    lease_until = None if lease is None else T0 + lease * MIN
    return CallRecord(CallState.RINGING, T0 + at * MIN, None, None, None, lease_until)


def refused(at: int, reason: str = "offline") -> CallRecord:
    """A ring refused at once (``offline``, ``busy``) or lost with its server."""
    return CallRecord(CallState.ENDED, T0 + at * MIN, None, T0 + at * MIN, reason)


def hand(kind: OutcomeKind, at: int) -> RecordedOutcome:
    """An outcome a nurse recorded ``at`` minutes after the planned time."""
    return RecordedOutcome(kind, T0 + at * MIN)


def retried(attempts: int, at: int) -> VisitState:
    """The screen visit after the ladder scheduled a retry."""
    return VisitState(T0, 15, Channel.SCREEN, attempts, T0 + at * MIN)


CASES: list[tuple[str, VisitState, list[CallRecord], RecordedOutcome | None, int, Action]] = [
    ("documented", SCREEN, [], hand(OutcomeKind.COMPLETED, 5), 600, Wait()),
    ("documented refusal", SCREEN, [], hand(OutcomeKind.DECLINED, 5), 600, Wait()),
    ("nothing yet", SCREEN, [], None, 0, Wait()),
    ("no call, window open", SCREEN, [], None, 14, Wait()),
    ("no call, window over", SCREEN, [], None, 15, Escalate("no_call")),
    ("live call", SCREEN, [ringing(10)], None, 60, Wait()),
    ("crashed ring", SCREEN, [ringing(10)], None, 10 + 121, Escalate("no_call")),
    ("first failure", SCREEN, [rang(0)], None, 2, Retry(1, T0 + 6 * MIN)),
    (
        "declined is a failure",
        SCREEN,
        [rang(0, reason="declined")],
        None,
        2,
        Retry(1, T0 + 6 * MIN),
    ),
    ("retry pending", retried(1, 6), [rang(0)], None, 10, Wait()),
    (
        "retry not rung",
        retried(1, 6),
        [rang(0)],
        None,
        15,
        Escalate("not_answered", OutcomeKind.NOT_ANSWERED),
    ),
    ("late retry, waiting", retried(1, 14), [rang(0)], None, 18, Wait()),
    (
        "late retry, not rung",
        retried(1, 14),
        [rang(0)],
        None,
        19,
        Escalate("not_answered", OutcomeKind.NOT_ANSWERED),
    ),
    ("second failure", retried(1, 6), [rang(0), rang(6)], None, 8, Retry(2, T0 + 12 * MIN)),
    (
        "retries spent",
        retried(2, 12),
        [rang(0), rang(6), rang(12, reason="declined")],
        None,
        14,
        Escalate("declined", OutcomeKind.DECLINED),
    ),
    ("answered, documenting", SCREEN, [rang(0, answered=True, lasted=20)], None, 40, Wait()),
    (
        "answered, never documented",
        SCREEN,
        [rang(0, answered=True, lasted=20)],
        None,
        20 + 31,
        Escalate("no_outcome"),
    ),
    (
        "hand failure, no call",
        SCREEN,
        [],
        hand(OutcomeKind.NOT_ANSWERED, 3),
        4,
        Retry(1, T0 + 8 * MIN),
    ),
    (
        "hand failure covers its call",
        SCREEN,
        [rang(0, answered=True)],
        hand(OutcomeKind.NOT_ANSWERED, 3),
        4,
        Retry(1, T0 + 6 * MIN),
    ),
    ("leased ring", SCREEN, [ringing(10, lease=11)], None, 11, Wait()),
    ("ring whose lease ran out", SCREEN, [ringing(10, lease=11)], None, 16, Escalate("no_call")),
    ("offline ring, window open", SCREEN, [refused(1)], None, 14, Wait()),
    (
        "only refused rings",
        SCREEN,
        [refused(1), refused(3), refused(9, "busy"), refused(12, "server_lost")],
        None,
        15,
        Escalate(
            "technical_failure",
            OutcomeKind.TECHNICAL_FAILURE,
            Tried((("offline", 2), ("busy", 1), ("server_lost", 1)), T0 + MIN, T0 + 12 * MIN),
        ),
    ),
    (
        "a real failure outweighs refusals",
        retried(1, 6),
        [refused(1), rang(2)],
        None,
        15,
        Escalate("not_answered", OutcomeKind.NOT_ANSWERED),
    ),
    ("refusals use no retries", SCREEN, [refused(0), refused(1), refused(2)], None, 3, Wait()),
    ("physical, in grace", PHYSICAL, [], None, 15 + 119, Wait()),
    ("physical, undocumented", PHYSICAL, [], None, 15 + 120, Escalate("no_call")),
]


@pytest.mark.parametrize(
    ("visit", "calls", "outcome", "minutes", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_ladder_decides(
    visit: VisitState,
    calls: list[CallRecord],
    outcome: RecordedOutcome | None,
    minutes: int,
    expected: Action,
) -> None:
    """One row of the ladder's table."""
    assert decide(visit, calls, outcome, RULE, POLICY, T0 + minutes * MIN) == expected


def test_ladder_no_retries_escalates_at_the_first_failure() -> None:
    """An organisation (or a visit type) with no retries escalates the first failed call."""
    strict = Rule(retries=0, delay=5 * MIN, steps=RetryLadder(retries=0))
    action = decide(SCREEN, [rang(0)], None, strict, POLICY, T0 + 2 * MIN)
    assert action == Escalate("not_answered", OutcomeKind.NOT_ANSWERED)


def test_ladder_stale_call_is_not_live() -> None:
    """A call a crashed process left ringing stops holding the visit after STALE_CALL."""
    call = ringing(0)
    assert call.live(T0 + STALE_CALL - MIN) and not call.live(T0 + STALE_CALL)


def test_ladder_refusal_policy_final_escalates_a_decline_at_once() -> None:
    """ "Respect the refusal": the first decline on the tablet ends the visit as declined."""
    final = Rule(2, 5 * MIN, RetryLadder(), refusal=TabletRefusal.FINAL)
    action = decide(SCREEN, [rang(0, reason="declined")], None, final, POLICY, T0 + 2 * MIN)
    assert action == Escalate("declined", OutcomeKind.DECLINED)
    # A ring nobody answered is still retried.
    assert decide(SCREEN, [rang(0)], None, final, POLICY, T0 + 2 * MIN) == Retry(1, T0 + 6 * MIN)


def test_ladder_refusal_policy_ask_counts_the_attempt_and_asks() -> None:
    """ "Ask the team": no retry time, then at the window's end the visit escalates as declined."""
    ask = Rule(2, 5 * MIN, RetryLadder(), refusal=TabletRefusal.ASK)
    declined = [rang(0, reason="declined")]
    assert decide(SCREEN, declined, None, ask, POLICY, T0 + 2 * MIN) == Ask(1)
    asked = VisitState(T0, 15, Channel.SCREEN, attempts=1, next_attempt_at=None)
    assert decide(asked, declined, None, ask, POLICY, T0 + 10 * MIN) == Wait()
    assert decide(asked, declined, None, ask, POLICY, T0 + 15 * MIN) == Escalate(
        "declined", OutcomeKind.DECLINED
    )
    # Beyond the retries too: the nurse decides, the ladder does not cut her off.
    many = [rang(0, reason="declined"), rang(3, reason="declined"), rang(6, reason="declined")]
    asked_twice = VisitState(T0, 15, Channel.SCREEN, attempts=2, next_attempt_at=None)
    assert decide(asked_twice, many, None, ask, POLICY, T0 + 8 * MIN) == Ask(3)


def test_ladder_leased_call_is_live_until_its_lease_runs_out() -> None:
    """With a lease, a call is live exactly while its process vouches for it."""
    call = ringing(0, lease=1)
    assert call.live(T0 + MIN) and not call.live(T0 + MIN + dt.timedelta(seconds=1))
