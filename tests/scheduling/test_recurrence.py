"""Tests for RRULE parsing, expansion and the Copenhagen wall-clock → UTC rule."""

import time as clock
from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from server.localtime import local_day
from server.scheduling.errors import InvalidRecurrence
from server.scheduling.recurrence import (
    Adjustment,
    LocalTimeIssue,
    clock_change_days,
    local_starts,
    local_time_issue,
    parse_rule,
    to_utc,
)

CPH = ZoneInfo("Europe/Copenhagen")
ANCHORAGE = ZoneInfo("America/Anchorage")  # west of UTC, clocks change on other Sundays

SPEC = Adjustment(
    id=1,
    visit_type="reassurance",
    rrule="FREQ=DAILY",
    time_of_day=time(8),
    valid_from=date(2026, 1, 1),
    valid_to=date(2027, 12, 31),
)


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=DAILY",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "freq=weekly;interval=2;byday=tu",
        "FREQ=DAILY;BYHOUR=8,12,17;",
        "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=6",
        "FREQ=HOURLY;INTERVAL=4",
    ],
)
def test_parse_rule_accepts_plan_rules(text: str) -> None:
    """Single-line RRULEs with supported parts parse."""
    assert parse_rule(text).rule is not None


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "one RRULE line"),
        ("garbage", "NAME=VALUE"),
        ("FREQ=FOO", "FREQ must be"),
        ("FREQ=MINUTELY", "FREQ must be"),
        ("BYDAY=MO", "FREQ must be"),
        ("FREQ=DAILY;BYDAY=XX", "BYDAY"),
        ("FREQ=DAILY;BYHOUR=25", "hour"),
        ("FREQ=DAILY;FOO=1", "FOO"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;FREQ=WEEKLY", "single NAME=VALUE"),
        ("FREQ=DAILY;UNTIL=20260301T000000", "valid_to"),
        ("DTSTART:20260101T080000\nRRULE:FREQ=DAILY", "one RRULE line"),
        ("FREQ=DAILY;DTSTART=20260101", "valid_from"),
        ("FREQ=DAILY;BYSECOND=30", "not supported"),
        ("FREQ=YEARLY;BYEASTER=0", "not supported"),
        ("FREQ=HOURLY;INTERVAL=2;BYHOUR=9", "empty set"),
    ],
)
def test_parse_rule_rejects_invalid_rules(text: str, reason_part: str) -> None:
    """Invalid or forbidden RRULEs raise InvalidRecurrence with a reason."""
    with pytest.raises(InvalidRecurrence) as caught:
        parse_rule(text)
    assert reason_part in caught.value.reason
    assert caught.value.code == "invalid_rrule"


def test_parse_rule_is_cached() -> None:
    """The same string is parsed once."""
    assert parse_rule("FREQ=WEEKLY;BYDAY=SA") is parse_rule("FREQ=WEEKLY;BYDAY=SA")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2026, 3, 28, 8, 0), datetime(2026, 3, 28, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 8, 0), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 24, 8, 0), datetime(2026, 10, 24, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 8, 0), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 30, fold=1), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (datetime(2026, 5, 1, 9, 0, tzinfo=UTC), datetime(2026, 5, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_to_utc_follows_the_fold_zero_rule(local: datetime, utc: datetime) -> None:
    """Wall-clock times map to UTC with the DST offset; gaps shift forward, folds take the first."""
    assert to_utc(local, CPH) == utc


@pytest.mark.parametrize(
    ("local", "issue"),
    [
        (datetime(2026, 3, 29, 2, 0), LocalTimeIssue.NONEXISTENT),
        (datetime(2026, 3, 29, 2, 59), LocalTimeIssue.NONEXISTENT),
        (datetime(2026, 3, 29, 3, 0), None),
        (datetime(2026, 3, 28, 2, 30), None),
        (datetime(2026, 10, 25, 2, 30), LocalTimeIssue.AMBIGUOUS),
        (datetime(2026, 10, 25, 3, 0), None),
        (datetime(2026, 10, 25, 1, 59), None),
    ],
)
def test_local_time_issue_classifies_gap_and_fold(
    local: datetime, issue: LocalTimeIssue | None
) -> None:
    """Times in the spring gap are nonexistent, times in the autumn fold ambiguous."""
    assert local_time_issue(local, CPH) == issue


def test_clock_change_days_2026() -> None:
    """Copenhagen changes clocks on the last Sundays of March and October."""
    assert clock_change_days(date(2026, 1, 1), date(2026, 12, 31), CPH) == [
        date(2026, 3, 29),
        date(2026, 10, 25),
    ]


def test_clock_change_days_follow_the_zone() -> None:
    """Anchorage (as the US) changes on the second Sunday of March and first of November."""
    assert clock_change_days(date(2026, 1, 1), date(2026, 12, 31), ANCHORAGE) == [
        date(2026, 3, 8),
        date(2026, 11, 1),
    ]
    assert to_utc(datetime(2026, 7, 1, 7, 30), ANCHORAGE) == datetime(
        2026, 7, 1, 15, 30, tzinfo=UTC
    )
    assert local_time_issue(datetime(2026, 3, 8, 2, 30), ANCHORAGE) is LocalTimeIssue.NONEXISTENT


def test_local_day_of_aware_and_naive() -> None:
    """An aware instant is read in Copenhagen; a naive time is already local."""
    assert local_day(datetime(2026, 6, 1, 22, 30, tzinfo=UTC), CPH) == date(2026, 6, 2)
    assert local_day(datetime(2026, 6, 1, 23, 30), CPH) == date(2026, 6, 1)
    assert local_day(datetime(2026, 6, 2, 3, 30, tzinfo=UTC), ANCHORAGE) == date(2026, 6, 1)


def test_local_starts_clips_to_validity() -> None:
    """Expansion stays inside valid_from..valid_to, both inclusive."""
    spec = replace(SPEC, valid_from=date(2026, 2, 3), valid_to=date(2026, 2, 5))
    starts = local_starts(spec, date(2026, 2, 1), date(2026, 2, 28))
    assert [local.date() for local in starts] == [date(2026, 2, day) for day in (3, 4, 5)]


def test_local_starts_rule_times_override_time_of_day() -> None:
    """BYHOUR gives several visits a day; the minute comes from time_of_day."""
    spec = replace(SPEC, rrule="FREQ=DAILY;BYHOUR=8,12,17", time_of_day=time(8, 15))
    starts = local_starts(spec, date(2026, 2, 2), date(2026, 2, 2))
    assert [local.time() for local in starts] == [time(8, 15), time(12, 15), time(17, 15)]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU",
        "FREQ=WEEKLY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO",
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=DAILY;BYHOUR=7,19;COUNT=40",
        "FREQ=MONTHLY;BYDAY=-1FR",
    ],
)
@pytest.mark.parametrize("valid_from", [date(2025, 1, 30), date(2025, 12, 31), date(2026, 3, 4)])
def test_local_starts_matches_plain_dateutil(rule: str, valid_from: date) -> None:
    """Fast-forwarding DTSTART never changes the series dateutil would give from valid_from."""
    spec = replace(SPEC, rrule=rule, time_of_day=time(9, 45), valid_from=valid_from)
    start, end = date(2026, 3, 1), date(2026, 4, 30)
    dtstart = datetime.combine(valid_from, spec.time_of_day)
    after, before = datetime.combine(start, time.min), datetime.combine(end, time.max)
    expected = rrulestr(rule, dtstart=dtstart).between(after, before, inc=True)
    assert list(local_starts(spec, start, end)) == expected


def test_local_starts_rule_that_never_matches_is_empty_and_bounded() -> None:
    """Every 7th day from a Thursday is never a Tuesday: no visits, found in well under a second."""
    spec = replace(SPEC, rrule="FREQ=DAILY;INTERVAL=7;BYDAY=TU")
    began = clock.perf_counter()
    assert local_starts(spec, date(2026, 3, 1), date(2026, 3, 14), cache=False) == ()
    assert clock.perf_counter() - began < 1.0


def test_local_starts_rejects_rule_impossible_from_its_start_time() -> None:
    """Every other hour from 09:00 never reaches 08:00, which dateutil reports on expansion."""
    spec = replace(SPEC, rrule="FREQ=HOURLY;INTERVAL=2;BYHOUR=8", time_of_day=time(9))
    with pytest.raises(InvalidRecurrence):
        local_starts(spec, date(2026, 3, 1), date(2026, 3, 1))
