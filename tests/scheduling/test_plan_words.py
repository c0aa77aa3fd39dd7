"""The plan editor's words → RRULE builder and back, table-tested without a loop."""

from __future__ import annotations

import pytest

from server.scheduling.plan_words import (
    DayChoice,
    ScheduleWords,
    WordsInvalid,
    from_rrule,
    to_rrule,
)
from server.scheduling.recurrence import parse_rule

EVERY, WORK, CHOSEN = DayChoice.EVERY_DAY, DayChoice.WEEKDAYS, DayChoice.CHOSEN


@pytest.mark.parametrize(
    ("words", "rule"),
    [
        (ScheduleWords(EVERY), "FREQ=DAILY"),
        (ScheduleWords(EVERY, every_weeks=2), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR,SA,SU"),
        (ScheduleWords(WORK), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        (ScheduleWords(WORK, every_weeks=2), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR"),
        (ScheduleWords(CHOSEN, frozenset({"fri", "mon", "wed"})), "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        (ScheduleWords(CHOSEN, frozenset({"sun"}), 2), "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU"),
        (
            ScheduleWords(CHOSEN, frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})),
            "FREQ=DAILY",
        ),
        (ScheduleWords(WORK, frozenset({"sun"})), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ],
)
def test_to_rrule_writes_the_rule_for_the_words(words: ScheduleWords, rule: str) -> None:
    """Each choice of days and interval gives one plain rule that the plan parser accepts."""
    assert to_rrule(words) == rule
    parse_rule(rule)


@pytest.mark.parametrize(
    "words",
    [
        ScheduleWords(CHOSEN),
        ScheduleWords(CHOSEN, frozenset({"funday"})),
        ScheduleWords(EVERY, every_weeks=3),
        ScheduleWords(WORK, every_weeks=0),
    ],
)
def test_to_rrule_refuses_words_without_a_rule(words: ScheduleWords) -> None:
    """No chosen day, an unknown day or an interval other than 1 or 2 is refused."""
    with pytest.raises(WordsInvalid):
        to_rrule(words)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=DAILY", ScheduleWords(EVERY)),
        ("RRULE:FREQ=DAILY;", ScheduleWords(EVERY)),
        (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ScheduleWords(WORK, frozenset({"mon", "tue", "wed", "thu", "fri"})),
        ),
        ("FREQ=WEEKLY;BYDAY=TU,FR", ScheduleWords(CHOSEN, frozenset({"tue", "fri"}))),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", ScheduleWords(CHOSEN, frozenset({"wed"}), 2)),
        (
            "freq=weekly;byday=mo,tu,we,th,fr,sa,su",
            ScheduleWords(EVERY, frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})),
        ),
        ("FREQ=DAILY;BYHOUR=8,20", None),
        ("FREQ=WEEKLY", None),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO", None),
        ("FREQ=WEEKLY;BYDAY=1MO", None),
        ("FREQ=MONTHLY", None),
        ("garbage", None),
    ],
)
def test_from_rrule_reads_editor_rules_back(rule: str, words: ScheduleWords | None) -> None:
    """Rules the editor writes open in the form again; any other rule has no words."""
    assert from_rrule(rule) == words


@pytest.mark.parametrize(
    "words",
    [
        ScheduleWords(EVERY),
        ScheduleWords(WORK, frozenset({"mon", "tue", "wed", "thu", "fri"}), 2),
        ScheduleWords(CHOSEN, frozenset({"tue", "sat"})),
    ],
)
def test_words_survive_a_round_trip(words: ScheduleWords) -> None:
    """Words → rule → words gives the same days and interval."""
    back = from_rrule(to_rrule(words))
    assert back is not None
    assert (back.chosen_days(), back.every_weeks) == (words.chosen_days(), words.every_weeks)
