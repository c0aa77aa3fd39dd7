"""Tests for plan validation and clashes between non-swappable plans."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.scheduling.errors import PlanInvalid, PlanProblem, Severity
from server.scheduling.plan_rules import (
    overlapping_non_swappable,
    require_valid_plan,
    validate_plan,
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

ERROR, WARNING = Severity.ERROR, Severity.WARNING
HOURLY = "FREQ=HOURLY;BYHOUR=6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22"  # daytime only
MON = date(2026, 3, 2)
PLAN = PlanSpec(
    plan_id=1,
    citizen_id=10,
    visit_type="medication",
    rrule="FREQ=DAILY",
    time_of_day=time(8),
    window_min=15,
    duration_min=5,
    zone=ZoneInfo("Europe/Copenhagen"),  # the wall clock this plan recurs in
    valid_from=date(2026, 1, 5),
    valid_to=date(2026, 12, 31),
)
EXTRA = Adjustment(
    id=4,
    visit_type="reassurance",
    rrule="FREQ=DAILY",
    time_of_day=time(15),
    valid_from=MON,
    valid_to=MON + timedelta(days=13),
)


def plan(**changes: Any) -> PlanSpec:
    """The base plan with some fields changed."""
    return replace(PLAN, **changes)


def codes(problems: list[PlanProblem]) -> list[tuple[str, Severity]]:
    """The (code, severity) pairs of problems."""
    return [(problem.code, problem.severity) for problem in problems]


def test_validate_plan_accepts_a_sound_plan() -> None:
    """A daily 08:00 plan with a normal window, pause, changes and adjustment has no problems."""
    sound = plan(
        pauses=(Pause(MON, MON + timedelta(days=3)),),
        exceptions={
            date(2026, 3, 10): Cancel(),
            date(2026, 3, 11): SwitchChannel(Channel.PHYSICAL),
        },
        adjustments=(EXTRA,),
    )
    assert validate_plan(sound) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rrule": "FREQ=SOMETIMES"}, [("invalid_rrule", ERROR)]),
        ({"rrule": "FREQ=DAILY;UNTIL=20260301T000000"}, [("invalid_rrule", ERROR)]),
        ({"valid_to": date(2026, 1, 4)}, [("valid_to_before_valid_from", ERROR)]),
        ({"duration_min": 0}, [("duration_out_of_range", ERROR)]),
        ({"duration_min": 600}, [("duration_out_of_range", ERROR)]),
        ({"window_min": -1}, [("window_out_of_range", ERROR)]),
        ({"window_min": 241}, [("window_out_of_range", ERROR)]),
        ({"rrule": HOURLY, "window_min": 90}, [("window_overlaps_next", ERROR)]),
        ({"rrule": HOURLY, "window_min": 30}, [("window_overlaps_next", ERROR)]),
        ({"rrule": HOURLY, "window_min": 29}, []),
        ({"rrule": "FREQ=HOURLY;INTERVAL=2;BYHOUR=9"}, [("invalid_rrule", ERROR)]),
        ({"rrule": "FREQ=DAILY;INTERVAL=7;BYDAY=TU"}, [("no_occurrences", WARNING)]),
        (
            {"rrule": "FREQ=DAILY;BYHOUR=8,10", "window_min": 60},
            [("window_overlaps_next", ERROR)],
        ),
        ({"rrule": "FREQ=DAILY;BYHOUR=8,12", "window_min": 60}, []),
        ({"rrule": "FREQ=DAILY;BYMONTHDAY=31;BYMONTH=2"}, [("no_occurrences", WARNING)]),
        ({"channels": {7: "screen"}}, [("invalid_weekday", ERROR)]),
        ({"pauses": (Pause(MON, MON - timedelta(days=1)),)}, [("pause_inverted", ERROR)]),
        ({"exceptions": {date(2025, 6, 1): Cancel()}}, [("change_without_occurrence", WARNING)]),
        ({"adjustments": (EXTRA, EXTRA)}, [("duplicate_adjustment_id", ERROR)]),
        ({"adjustments": (replace(EXTRA, rrule="nonsense"),)}, [("invalid_rrule", ERROR)]),
    ],
)
def test_validate_plan_reports_problems(
    changes: dict[str, Any], expected: list[tuple[str, Severity]]
) -> None:
    """Each kind of mistake is reported with its stable code and severity."""
    assert codes(validate_plan(plan(**changes))) == expected


def test_validate_plan_hourly_plan_with_wide_window() -> None:
    """A round-the-clock hourly plan with ±90 min overlaps, and hits both clock changes."""
    problems = validate_plan(plan(rrule="FREQ=HOURLY", window_min=90))
    assert codes(problems) == [
        ("window_overlaps_next", ERROR),
        ("nonexistent_local_time", WARNING),
        ("ambiguous_local_time", WARNING),
    ]
    assert problems[0].message == "tidsrummet ±90 min overlapper det næste besøg 60 min senere"


def test_validate_plan_warns_about_0230_on_clock_change_days() -> None:
    """A 02:30 plan gets a nonexistent warning in March and an ambiguous one in October."""
    problems = validate_plan(plan(time_of_day=time(2, 30)))
    assert [(p.code, p.severity, p.on) for p in problems] == [
        ("nonexistent_local_time", WARNING, date(2026, 3, 29)),
        ("ambiguous_local_time", WARNING, date(2026, 10, 25)),
    ]
    assert "03:30" in problems[0].message
    assert "den første" in problems[1].message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"time_of_day": time(8)}, []),
        ({"time_of_day": time(1, 59)}, []),
        ({"time_of_day": time(3, 0)}, []),
        ({"rrule": "FREQ=WEEKLY;BYDAY=MO", "time_of_day": time(2, 30)}, []),
        ({"valid_to": date(2026, 6, 30), "time_of_day": time(2, 0)}, ["nonexistent_local_time"]),
    ],
)
def test_validate_plan_clock_change_warnings_only_when_hit(
    changes: dict[str, Any], expected: list[str]
) -> None:
    """Warnings appear only for occurrences that really fall in the skipped or repeated hour."""
    assert [problem.code for problem in validate_plan(plan(**changes))] == expected


def test_validate_plan_checks_moves() -> None:
    """A move on a day with two visits is ambiguous; a move into the spring gap is warned."""
    exceptions = {
        MON: Move(datetime(2026, 3, 2, 9)),
        date(2026, 3, 28): Move(datetime(2026, 3, 29, 2, 15)),
    }
    twice = plan(rrule="FREQ=DAILY;BYHOUR=8,20", exceptions=exceptions)
    assert [(p.code, p.on) for p in validate_plan(twice)] == [
        ("move_ambiguous", MON),
        ("move_ambiguous", date(2026, 3, 28)),
        ("nonexistent_local_time", date(2026, 3, 29)),
    ]


def test_require_valid_plan_raises_with_problems() -> None:
    """Errors raise PlanInvalid carrying every problem; warnings alone are returned."""
    with pytest.raises(PlanInvalid) as caught:
        require_valid_plan(plan(window_min=300, time_of_day=time(2, 30)))
    assert caught.value.code == "plan_invalid"
    assert [p.code for p in caught.value.problems][0] == "window_out_of_range"
    warnings = require_valid_plan(plan(time_of_day=time(2, 30)))
    assert {p.severity for p in warnings} == {WARNING}


def test_overlapping_non_swappable_reports_clash_once() -> None:
    """Two medication plans at 08:00 and 08:20 (±15) clash; reported once, at the first day."""
    first = plan(plan_id=1)
    second = plan(plan_id=2, time_of_day=time(8, 20), rrule="FREQ=WEEKLY;BYDAY=WE,FR")
    (conflict,) = overlapping_non_swappable([first, second], MON, MON + timedelta(days=13))
    assert conflict.citizen_id == 10
    assert {conflict.first.key.plan_id, conflict.second.key.plan_id} == {1, 2}
    assert conflict.first.key.local_date == date(2026, 3, 4)


@pytest.mark.parametrize(
    ("second", "clashes"),
    [
        ({"time_of_day": time(8, 34)}, True),  # 08:00 may run until 08:20, 08:34 may start 08:19
        ({"time_of_day": time(8, 35)}, False),
        ({"time_of_day": time(8), "window_min": 0}, True),
        ({"visit_type": "reassurance"}, False),
        ({"citizen_id": 11}, False),
        (
            {"exceptions": {MON: Move(datetime(2026, 3, 2, 12))}, "rrule": "FREQ=WEEKLY;BYDAY=MO"},
            False,
        ),
        ({"valid_from": date(2026, 4, 1)}, False),
    ],
)
def test_overlapping_non_swappable_cases(second: dict[str, Any], clashes: bool) -> None:
    """Clashes need the same citizen, non-swappable types and overlapping visit spans."""
    plans = [plan(plan_id=1, rrule="FREQ=WEEKLY;BYDAY=MO"), plan(plan_id=2, **second)]
    assert bool(overlapping_non_swappable(plans, MON, MON + timedelta(days=6))) is clashes


def test_overlapping_non_swappable_includes_adjustments() -> None:
    """A non-swappable adjustment clashing with its own plan is reported."""
    extra = replace(EXTRA, visit_type="medication", time_of_day=time(8, 10))
    (conflict,) = overlapping_non_swappable([plan(adjustments=(extra,))], MON, MON)
    assert {conflict.first.key.source, conflict.second.key.source} == {"plan", "adj:4"}


def test_overlapping_non_swappable_custom_types() -> None:
    """The set of non-swappable visit types is a parameter."""
    plans = [plan(plan_id=1, visit_type="bath"), plan(plan_id=2, visit_type="bath")]
    assert overlapping_non_swappable(plans, MON, MON) == []
    assert len(overlapping_non_swappable(plans, MON, MON, frozenset({"bath"}))) == 1
