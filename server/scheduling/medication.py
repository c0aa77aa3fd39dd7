"""Medication safety for plans: what a one-off move or a retype may do to a non-swappable dose.

Medication and blood-sugar visits (`VisitType.non_swappable`) are delegated nursing: the dose
belongs to its time. Three rules, each with a stable code:

* `medication_out_of_window`: a one-off move keeps the dose on its own date, within
  ± window_min of its planned time (wall clock). Moving it to another day leaves one day
  without a dose, so that is out of the window too.
* `medication_too_close`: after the move the dose is at least `min_gap` from the plan's
  previous and next dose, wherever those are now (another day's move counts). Doses the plan
  itself schedules within `min_gap` plus the window of each other (08:00 and 12:00, ±15 min)
  are the prescription: between those, the window rule alone says how far a dose may move.
* `medication_retype`: a plan never changes from or to a non-swappable visit type; the
  planner ends it and creates a new one, so the history of the doses stays with its plan.

Only a nurse or a visitator may override a rule, with a reason (`may_override`); the edge
audits each override. Everything here is pure: no clock, no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..translatable import N_
from ..vocabulary import OVERRIDE_ROLES, Role
from .occurrences import Occurrence, OccurrenceKey, occurrences
from .recurrence import Move, PlanSpec, local_starts, to_utc

# Neighbouring doses are looked for this far around a move (the gap setting is at most 12 h).
_NEIGHBOURHOOD = dt.timedelta(days=2)


class MedicationRule(StrEnum):
    """A medication safety rule; the value is the stable error code."""

    OUT_OF_WINDOW = "medication_out_of_window"
    TOO_CLOSE = "medication_too_close"
    RETYPE = "medication_retype"


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule a change would break, with an English sentence and the facts behind it."""

    rule: MedicationRule
    message: str
    facts: dict[str, Any] = field(default_factory=dict)


def may_override(role: Role) -> bool:
    """Whether staff of this role may override a medication rule (with a reason)."""
    return role in OVERRIDE_ROLES


def check_retype(old_code: str, new_code: str, non_swappable: frozenset[str]) -> list[Breach]:
    """A change of visit type from or to a non-swappable type breaks `medication_retype`."""
    if old_code == new_code or not {old_code, new_code} & non_swappable:
        return []
    message = N_(
        "en {old}-plan kan ikke blive en {new}-plan; afslut planen, og opret en ny",
        old=old_code,
        new=new_code,
    )
    facts = {"from": old_code, "to": new_code}
    return [Breach(MedicationRule.RETYPE, message, facts)]


def check_move(
    plan: PlanSpec, day: dt.date, to: dt.datetime, min_gap: dt.timedelta
) -> list[Breach]:
    """The rules a one-off move of the dose planned on local `day` to naive local `to` breaks.

    The most serious breach comes first: a dose too close to another is a double dose.
    """
    planned = _planned_dose(plan, day)
    if planned is None:
        return []  # no dose that day: plan validation reports the change as hitting nothing
    breaches = _too_close(plan, day, to, planned, min_gap)
    if to.date() != day or abs(to - planned) > dt.timedelta(minutes=plan.window_min):
        breaches.append(_out_of_window(plan, to, planned))
    return breaches


def _planned_dose(plan: PlanSpec, day: dt.date) -> dt.datetime | None:
    """The naive local time of the day's first dose (the one a move applies to)."""
    starts = local_starts(plan, day, day, cache=False)
    return starts[0] if starts else None


def _out_of_window(plan: PlanSpec, to: dt.datetime, planned: dt.datetime) -> Breach:
    """The dose would leave its date or its window."""
    earliest = planned - dt.timedelta(minutes=plan.window_min)
    latest = planned + dt.timedelta(minutes=plan.window_min)
    message = N_(
        "dosis den {planned:%d.%m.%Y} kl. {planned:%H:%M} skal blive på dagen mellem "
        "{earliest:%H:%M} og {latest:%H:%M}; {to:%d.%m.%Y %H:%M} er uden for tidsrummet",
        planned=planned,
        earliest=earliest,
        latest=latest,
        to=to,
    )
    facts = {
        "planned": planned.isoformat(timespec="minutes"),
        "earliest": earliest.isoformat(timespec="minutes"),
        "latest": latest.isoformat(timespec="minutes"),
        "to": to.isoformat(timespec="minutes"),
        "window_min": plan.window_min,
    }
    return Breach(MedicationRule.OUT_OF_WINDOW, message, facts)


def _too_close(
    plan: PlanSpec, day: dt.date, to: dt.datetime, planned: dt.datetime, min_gap: dt.timedelta
) -> list[Breach]:
    """The nearest other dose the moved dose would come closer to than allowed, if any."""
    first = min(day, to.date()) - _NEIGHBOURHOOD
    last = max(day, to.date()) + _NEIGHBOURHOOD
    moved_plan = replace(plan, exceptions={**plan.exceptions, day: Move(to)})
    doses = [o for o in occurrences(moved_plan, first, last) if o.visit_type == plan.visit_type]
    moved = next((o for o in doses if o.key.local_date == day and o.key.seq == 0 and o.moved), None)
    if moved is None:
        return []  # paused that day: nothing is given
    by_rule = _rule_starts(plan, first, last)
    own = to_utc(planned, plan.zone)
    # Doses the plan itself puts within the gap plus the window (08:00 and 12:00, ±15 min)
    # are the prescription: their window already says how far each may move.
    prescribed = min_gap + dt.timedelta(minutes=plan.window_min)
    close = [
        (abs(other.start - moved.start), other)
        for other in doses
        if other is not moved
        and abs(other.start - moved.start) < min_gap
        and abs(by_rule.get(other.key, other.start) - own) >= prescribed
    ]
    if not close:
        return []
    gap, nearest = min(close, key=lambda pair: pair[0])
    return [_too_close_breach(plan, to, nearest, gap, min_gap)]


def _rule_starts(plan: PlanSpec, first: dt.date, last: dt.date) -> dict[OccurrenceKey, dt.datetime]:
    """When each dose is planned by the rule alone, without one-off changes or pauses."""
    unchanged = replace(plan, exceptions={}, pauses=(), adjustments=())
    return {occ.key: occ.start for occ in occurrences(unchanged, first, last)}


def _too_close_breach(
    plan: PlanSpec, to: dt.datetime, nearest: Occurrence, gap: dt.timedelta, min_gap: dt.timedelta
) -> Breach:
    """The moved dose would be `gap` from another dose; at least `min_gap` is required."""
    other = nearest.start.astimezone(plan.zone).replace(tzinfo=None)
    minutes = int(gap.total_seconds() // 60)
    hours = int(min_gap.total_seconds() // 3600)
    message = N_(
        "{to:%d.%m.%Y %H:%M} er {minutes} min fra dosis {other:%d.%m.%Y %H:%M}; "
        "doser i én plan skal ligge mindst {hours} t fra hinanden",
        to=to,
        minutes=minutes,
        other=other,
        hours=hours,
    )
    facts = {
        "to": to.isoformat(timespec="minutes"),
        "other_dose": other.isoformat(timespec="minutes"),
        "gap_min": minutes,
        "min_gap_h": hours,
    }
    return Breach(MedicationRule.TOO_CLOSE, message, facts)
