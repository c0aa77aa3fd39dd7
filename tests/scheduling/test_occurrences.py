"""Tests for turning visit plans into occurrences."""

import time as clock
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.scheduling.occurrences import (
    Occurrence,
    OccurrenceKey,
    apply_first_visit_physical,
    occurrences,
)
from server.scheduling.recurrence import (
    Adjustment,
    Cancel,
    Move,
    Pause,
    PlanSpec,
    SwitchChannel,
)
from server.vocabulary import Channel

CPH = ZoneInfo("Europe/Copenhagen")  # the wall clock these plans recur in

SCREEN, PHYSICAL = Channel.SCREEN, Channel.PHYSICAL
MON = date(2026, 3, 2)  # a Monday
PLAN = PlanSpec(
    plan_id=7,
    citizen_id=1,
    visit_type="medication",
    rrule="FREQ=DAILY",
    time_of_day=time(8),
    window_min=15,
    duration_min=5,
    zone=CPH,
    valid_from=date(2026, 1, 1),
)


def plan(**changes: Any) -> PlanSpec:
    """The base plan with some fields changed."""
    return replace(PLAN, **changes)


def days(found: list[Occurrence]) -> list[date]:
    """The original local dates of occurrences."""
    return [occ.key.local_date for occ in found]


def week(first: date = MON) -> tuple[date, date]:
    """Monday to Sunday of the week starting at `first`."""
    return first, first + timedelta(days=6)


@pytest.mark.parametrize(
    ("rule", "weekdays"),
    [
        ("FREQ=DAILY", [0, 1, 2, 3, 4, 5, 6]),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", [0, 2, 4]),
        ("FREQ=WEEKLY;BYDAY=TU,TH", [1, 3]),
        ("FREQ=DAILY;INTERVAL=2", [0, 2, 4, 6]),  # valid_from 2026-01-01 is on an even offset
        ("FREQ=WEEKLY", [3]),  # DTSTART's weekday: 2026-01-01 is a Thursday
    ],
)
def test_occurrences_follow_the_rule(rule: str, weekdays: list[int]) -> None:
    """Daily and weekly rules give visits on the expected weekdays at 08:00 local."""
    found = occurrences(plan(rrule=rule), *week())
    assert [day.weekday() for day in days(found)] == weekdays
    assert {occ.start.astimezone(CPH).time() for occ in found} == {time(8)}


def test_occurrences_channel_by_weekday() -> None:
    """Screen Mon/Wed/Fri and physical Tue/Thu, with the default channel elsewhere."""
    channels = {0: SCREEN, 1: PHYSICAL, 2: SCREEN, 3: PHYSICAL, 4: SCREEN}
    found = occurrences(plan(channels=channels, default_channel=PHYSICAL), *week())
    assert [occ.channel for occ in found] == [SCREEN, PHYSICAL, SCREEN, PHYSICAL, SCREEN] + [
        PHYSICAL,
        PHYSICAL,
    ]
    assert not any(occ.channel_switched for occ in found)


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "expected"),
    [
        (date(2026, 3, 4), None, [4, 5, 6, 7, 8]),
        (date(2026, 1, 1), date(2026, 3, 3), [2, 3]),
        (date(2026, 3, 3), date(2026, 3, 3), [3]),
        (date(2026, 4, 1), None, []),
        (date(2026, 1, 1), date(2026, 2, 1), []),
    ],
)
def test_occurrences_respect_validity(
    valid_from: date, valid_to: date | None, expected: list[int]
) -> None:
    """Only dates within valid_from..valid_to (inclusive) get visits."""
    found = occurrences(plan(valid_from=valid_from, valid_to=valid_to), *week())
    assert [day.day for day in days(found)] == expected


def test_occurrences_skip_pauses() -> None:
    """A hospital stay and a holiday remove the visits on their dates, inclusive."""
    pauses = (Pause(date(2026, 3, 3), date(2026, 3, 4), "hospital"), Pause(date(2026, 3, 8), MON))
    found = occurrences(plan(pauses=pauses), *week())
    assert [day.day for day in days(found)] == [2, 5, 6, 7, 8]


def test_occurrences_cancel_and_switch_channel() -> None:
    """A cancelled day has no visit; a switched day keeps its key and is flagged."""
    exceptions = {
        date(2026, 3, 3): Cancel("family visit"),
        date(2026, 3, 4): SwitchChannel(PHYSICAL),
    }
    found = occurrences(plan(exceptions=exceptions), MON, date(2026, 3, 5))
    assert [(occ.key.local_date.day, occ.channel, occ.channel_switched) for occ in found] == [
        (2, SCREEN, False),
        (4, PHYSICAL, True),
        (5, SCREEN, False),
    ]


def test_occurrences_switch_to_same_channel_is_not_flagged() -> None:
    """Switching to the channel the day already has changes nothing."""
    found = occurrences(plan(exceptions={MON: SwitchChannel(SCREEN)}), MON, MON)
    assert found[0].channel_switched is False


def test_occurrences_move_keeps_original_key() -> None:
    """A move changes the time and sets `moved`, but the key stays the original date."""
    exceptions = {MON: Move(datetime(2026, 3, 2, 10, 30), channel=PHYSICAL)}
    (moved,) = occurrences(plan(exceptions=exceptions), MON, MON)
    assert moved.key == OccurrenceKey(7, "plan", MON, 0)
    assert moved.start == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert (moved.moved, moved.channel, moved.channel_switched) == (True, PHYSICAL, True)


def test_occurrences_move_across_the_range() -> None:
    """A visit moved out of the range is still listed there; one moved into it is listed too."""
    out = {MON: Move(datetime(2026, 3, 20, 9, 0))}
    assert [occ.key.local_date for occ in occurrences(plan(exceptions=out), MON, MON)] == [MON]
    into = {date(2026, 3, 20): Move(datetime(2026, 3, 2, 14, 0))}
    found = occurrences(plan(exceptions=into), MON, MON)
    assert [(occ.key.local_date, occ.start.astimezone(CPH).hour) for occ in found] == [
        (MON, 8),
        (date(2026, 3, 20), 14),
    ]


def test_occurrences_pause_applies_to_the_moved_day() -> None:
    """A visit moved out of a pause happens; one moved into a pause does not."""
    pause = (Pause(date(2026, 3, 3), date(2026, 3, 3)),)
    exceptions = {
        date(2026, 3, 3): Move(datetime(2026, 3, 4, 12, 0)),
        date(2026, 3, 5): Move(datetime(2026, 3, 3, 12, 0)),
    }
    found = occurrences(plan(pauses=pause, exceptions=exceptions), MON, date(2026, 3, 5))
    assert [(occ.key.local_date.day, occ.start.astimezone(CPH).day) for occ in found] == [
        (2, 2),
        (4, 4),
        (3, 4),
    ]


def test_occurrences_several_a_day_are_numbered() -> None:
    """Visits on the same date get seq 0, 1, 2 in time order."""
    found = occurrences(plan(rrule="FREQ=DAILY;BYHOUR=8,12,17"), MON, MON)
    assert [(occ.key.seq, occ.start.astimezone(CPH).hour) for occ in found] == [
        (0, 8),
        (1, 12),
        (2, 17),
    ]


def test_occurrences_temporary_adjustment() -> None:
    """An extra 15:00 call for 14 days is added with its own source key, then stops."""
    extra = Adjustment(
        id=3,
        visit_type="reassurance",
        rrule="FREQ=DAILY",
        time_of_day=time(15),
        valid_from=MON,
        valid_to=MON + timedelta(days=13),
        window_min=30,
        duration_min=10,
    )
    found = occurrences(plan(adjustments=(extra,)), MON, MON + timedelta(days=20))
    calls = [occ for occ in found if occ.key.source == "adj:3"]
    assert len(calls) == 14
    assert {
        (occ.visit_type, occ.start.astimezone(CPH).time(), occ.window_min) for occ in calls
    } == {("reassurance", time(15), 30)}
    assert len(found) == 21 + 14


def test_occurrences_pause_covers_adjustments() -> None:
    """A pause stops the temporary extra calls as well as the plan."""
    extra = Adjustment(
        id=1,
        visit_type="reassurance",
        rrule="FREQ=DAILY",
        time_of_day=time(15),
        valid_from=MON,
        valid_to=MON,
    )
    paused = plan(adjustments=(extra,), pauses=(Pause(MON, MON),))
    assert occurrences(paused, MON, MON) == []


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 3, 28), 7),
        (date(2026, 3, 29), 6),
        (date(2026, 3, 30), 6),
        (date(2026, 10, 24), 6),
        (date(2026, 10, 25), 7),
        (date(2026, 10, 26), 7),
    ],
)
def test_occurrences_0800_across_dst(day: date, utc_hour: int) -> None:
    """An 08:00 plan stays at 08:00 local; its UTC hour moves 7→6 in spring and 6→7 in autumn."""
    (occ,) = occurrences(plan(), day, day)
    assert occ.start.tzinfo is UTC
    assert (occ.start.hour, occ.start.astimezone(CPH).hour) == (utc_hour, 8)


@pytest.mark.parametrize(
    ("day", "utc", "local_hhmm"),
    [
        (date(2026, 3, 29), datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "03:30"),
        (date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "02:30"),
    ],
)
def test_occurrences_0230_on_clock_change_days(day: date, utc: datetime, local_hhmm: str) -> None:
    """02:30 is shifted to 03:30 in spring and is the first (summer-time) 02:30 in autumn."""
    (occ,) = occurrences(plan(time_of_day=time(2, 30)), day, day)
    assert occ.start == utc
    assert occ.start.astimezone(CPH).strftime("%H:%M") == local_hhmm


def test_occurrences_are_idempotent() -> None:
    """The same input gives equal results, and overlapping ranges agree on shared keys."""
    busy = plan(
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,TH",
        exceptions={date(2026, 3, 3): Move(datetime(2026, 3, 4, 9, 0))},
        channels={1: PHYSICAL},
    )
    first = occurrences(busy, MON, date(2026, 3, 15))
    assert occurrences(busy, MON, date(2026, 3, 15)) == first
    later = occurrences(busy, date(2026, 3, 9), date(2026, 3, 22))
    shared = {occ.key: occ for occ in later}
    assert [shared[occ.key] for occ in first if occ.key in shared] == [
        occ for occ in first if occ.key.local_date >= date(2026, 3, 9)
    ]
    assert len({occ.key for occ in first}) == len(first)


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        (False, [PHYSICAL, SCREEN, SCREEN]),
        (True, [SCREEN, SCREEN, SCREEN]),
    ],
)
def test_apply_first_visit_physical(prior: bool, expected: list[Channel]) -> None:
    """Without a prior visit the earliest occurrence becomes physical; otherwise nothing changes."""
    found = occurrences(plan(), MON, date(2026, 3, 4))
    result = apply_first_visit_physical(list(reversed(found)), citizen_has_prior_visit=prior)
    assert [occ.channel for occ in reversed(result)] == expected
    assert result[-1].channel_switched is not prior


def test_apply_first_visit_physical_keeps_physical_and_empty() -> None:
    """An already physical first visit is not flagged; an empty list stays empty."""
    found = occurrences(plan(default_channel=PHYSICAL), MON, MON)
    assert apply_first_visit_physical(found, citizen_has_prior_visit=False) == found
    assert apply_first_visit_physical([], citizen_has_prior_visit=False) == []


def test_occurrences_expand_many_plans_quickly() -> None:
    """3,000 plans × 14 days expand well within a second (the nightly run is 10× that)."""
    rules = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;BYHOUR=8,12,17"]
    plans = [
        plan(plan_id=n, rrule=rules[n % 3], valid_from=date(2024, 1, 1) + timedelta(days=n % 700))
        for n in range(3000)
    ]
    began = clock.perf_counter()
    total = sum(len(occurrences(each, MON, MON + timedelta(days=13))) for each in plans)
    assert total == 1000 * (14 + 6 + 42)
    assert clock.perf_counter() - began < 2.0


@pytest.mark.parametrize(
    ("key", "text"),
    [
        (OccurrenceKey(7, "plan", MON, 0), "2026-03-02/plan/0"),
        (OccurrenceKey(7, "adj:12", MON, 2), "2026-03-02/adj:12/2"),
    ],
)
def test_occurrence_key_as_text(key: OccurrenceKey, text: str) -> None:
    """The stored form of a key is readable, unique within a plan and fits 64 characters."""
    assert key.as_text() == text
    assert len(key.as_text()) <= 64
