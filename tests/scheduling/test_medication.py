"""Medication safety rules for one-off moves and retypes, table-tested without a loop."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from server.scheduling.medication import (
    MedicationRule,
    check_move,
    check_retype,
    may_override,
)
from server.scheduling.recurrence import Move, Pause, PlanSpec
from server.vocabulary import Role

ZONE = ZoneInfo("Europe/Copenhagen")
TUE = dt.date(2027, 3, 2)
WED = TUE + dt.timedelta(days=1)
GAP = dt.timedelta(hours=4)
DOSE = PlanSpec(
    plan_id=1,
    citizen_id=10,
    visit_type="medication",
    rrule="FREQ=DAILY",
    time_of_day=dt.time(8, 30),
    window_min=15,
    duration_min=5,
    zone=ZONE,
    valid_from=dt.date(2027, 1, 4),
)
TWICE = replace(DOSE, rrule="FREQ=DAILY;BYHOUR=8,12;BYMINUTE=0")
OUT, CLOSE = MedicationRule.OUT_OF_WINDOW, MedicationRule.TOO_CLOSE


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A naive local time."""
    return dt.datetime.combine(day, dt.time(hour, minute))


@pytest.mark.parametrize(
    ("plan", "day", "to", "rules"),
    [
        (DOSE, TUE, at(TUE, 8, 45), []),  # the window's edge
        (DOSE, TUE, at(TUE, 8, 15), []),
        (DOSE, TUE, at(TUE, 8, 46), [OUT]),
        (DOSE, TUE, at(TUE, 15), [OUT]),  # the 08:30 → 15:00
        (DOSE, WED, at(TUE, 8, 35), [CLOSE, OUT]),  # the two doses 5 min apart
        (DOSE, TUE, at(WED, 6), [CLOSE, OUT]),  # 2.5 h before Wednesday's 08:30
        (DOSE, TUE, at(TUE, 12), [OUT]),  # far from both neighbours, but off its window
        (TWICE, TUE, at(TUE, 8, 10), []),  # prescribed 4 h apart: the window decides
        (TWICE, TUE, at(TUE, 7, 50), []),
        (TWICE, TUE, at(TUE, 9), [OUT]),
        (DOSE, TUE, at(TUE, 20, 30), [OUT]),  # 12 h from both neighbours
        (DOSE, dt.date(2026, 12, 1), at(TUE, 8, 30), []),  # before the plan: no dose to move
    ],
)
def test_check_move_table(
    plan: PlanSpec, day: dt.date, to: dt.datetime, rules: list[MedicationRule]
) -> None:
    """A move stays on its day inside ±window and at least the gap away from other doses."""
    assert [b.rule for b in check_move(plan, day, to, GAP)] == rules


def test_move_to_1am_is_far_enough_from_both_neighbours() -> None:
    """Wednesday's dose moved to 01:00 is 16.5 h after Tuesday's: only off its window."""
    breaches = check_move(DOSE, WED, at(WED, 1), GAP)
    assert [b.rule for b in breaches] == [OUT]


def test_breaches_say_why_with_facts() -> None:
    """The messages name the window and the other dose; facts carry the numbers for the page."""
    close, out = check_move(DOSE, WED, at(TUE, 8, 35), GAP)
    assert close.facts == {
        "to": "2027-03-02T08:35", "other_dose": "2027-03-02T08:30", "gap_min": 5, "min_gap_h": 4,
    }  # fmt: skip
    assert "mindst 4 t fra hinanden" in close.message
    assert out.facts["earliest"] == "2027-03-03T08:15" and out.facts["latest"] == "2027-03-03T08:45"
    assert "08:15 og 08:45" in out.message


def test_existing_moves_are_the_neighbours() -> None:
    """Another day's dose already moved counts where it now is."""
    moved = replace(DOSE, exceptions={WED: Move(at(WED, 8, 40))})
    assert check_move(moved, TUE, at(TUE, 8, 40), GAP) == []
    early = replace(DOSE, window_min=240, exceptions={WED: Move(at(TUE, 16))})
    assert [b.rule for b in check_move(early, TUE, at(TUE, 12, 30), GAP)] == [CLOSE]


def test_paused_day_has_no_dose_to_be_close_to() -> None:
    """A dose moved into a pause is not given, so it is not too close to anything."""
    paused = replace(DOSE, pauses=(Pause(TUE, TUE),))
    assert [b.rule for b in check_move(paused, WED, at(TUE, 8, 35), GAP)] == [OUT]


def test_gap_setting_is_read_from_the_argument() -> None:
    """With a 1 h gap, a dose 3 h from the next day's is no longer too close."""
    wide = replace(DOSE, window_min=240)
    assert [b.rule for b in check_move(wide, WED, at(WED, 5, 30), GAP)] == []
    late = replace(DOSE, window_min=240, exceptions={TUE: Move(at(TUE, 12, 30))})
    assert [b.rule for b in check_move(late, WED, at(WED, 4, 30), GAP)] == []
    near = replace(DOSE, window_min=240, exceptions={TUE: Move(at(WED, 1, 30))})
    assert [b.rule for b in check_move(near, WED, at(WED, 4, 30), GAP)] == [CLOSE]
    assert check_move(near, WED, at(WED, 4, 30), dt.timedelta(hours=1)) == []


NS = frozenset({"medication", "blood_sugar"})


@pytest.mark.parametrize(
    ("old", "new", "refused"),
    [
        ("medication", "reassurance", True),
        ("reassurance", "medication", True),
        ("medication", "blood_sugar", True),
        ("medication", "medication", False),
        ("reassurance", "bath", False),
    ],
)
def test_check_retype_table(old: str, new: str, refused: bool) -> None:
    """A plan's type may not change from or to a non-swappable type."""
    breaches = check_retype(old, new, NS)
    assert bool(breaches) is refused
    assert all(b.rule is MedicationRule.RETYPE and "afslut planen" in b.message for b in breaches)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.NURSE, True),
        (Role.VISITATOR, True),
        (Role.PLANNER, False),
        (Role.ADMIN, False),
        (Role.CARER, False),
    ],
)
def test_only_nurses_and_visitators_may_override(role: Role, allowed: bool) -> None:
    """Overrides are for those who answer for delegated medication."""
    assert may_override(role) is allowed
