"""Concrete visit occurrences of a plan in a date range: pure, deterministic, idempotent.

* Each occurrence has a stable `OccurrenceKey` (plan, source, original local date, index
  within that day), so a DB unique constraint on the key makes generation idempotent.
* An occurrence is returned when its original date *or* its moved-to date falls in
  start..end (inclusive); a move keeps the key of the original date.
* Cancelled and paused occurrences are **not returned**. The generator reconciles: a key it
  stored earlier that is missing now was cancelled, paused or removed by a plan change.
* One-off changes (`PlanSpec.exceptions`) apply to the plan's own occurrences; a move on a
  day with several occurrences applies to the first one (validation reports it). Pauses apply
  to the plan and its adjustments, judged on the day the visit actually happens.
* A moved occurrence keeps the channel of its original weekday unless the move sets one.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from server.localtime import local_day
from server.scheduling.recurrence import (
    Adjustment,
    Cancel,
    Move,
    OneOffChange,
    PlanSpec,
    SwitchChannel,
    local_starts,
    to_utc,
)
from server.visits.status import Window
from server.vocabulary import Channel


@dataclass(frozen=True, slots=True, order=True)
class OccurrenceKey:
    """Identity of an occurrence that survives regeneration, moves and channel switches."""

    plan_id: int
    source: str  # "plan" or "adj:<id>"
    local_date: date  # the original local date, before any move
    seq: int = 0  # index among the same source's occurrences on that date

    def as_text(self) -> str:
        """The key within its plan as stored in `visit.occurrence_key`, e.g. "2026-03-02/plan/0"."""
        return f"{self.local_date.isoformat()}/{self.source}/{self.seq}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One planned visit."""

    key: OccurrenceKey
    visit_type: str
    start: datetime  # planned start, aware UTC
    window_min: int
    duration_min: int
    channel: Channel
    moved: bool = False
    channel_switched: bool = False  # differs from the plan's channel for that weekday

    @property
    def window(self) -> Window:
        """The occurrence's window."""
        return Window(self.start, self.window_min)


def occurrences(plan: PlanSpec, start: date, end: date) -> list[Occurrence]:
    """The plan's occurrences on local dates start..end, ordered by start then key."""
    found = [*_plan_occurrences(plan, start, end), *_moved_in(plan, start, end)]
    for adjustment in plan.adjustments:
        found.extend(_adjustment_occurrences(plan, adjustment, start, end))
    if plan.pauses:
        found = [occ for occ in found if not plan.paused_on(local_day(occ.start, plan.zone))]
    return sorted(found, key=_start_order)


def apply_first_visit_physical(
    occurrences: Sequence[Occurrence], citizen_has_prior_visit: bool
) -> list[Occurrence]:
    """Make a citizen's earliest occurrence physical when they have never had a visit.

    Pass all of the citizen's occurrences (every plan); the order of the list is kept.
    """
    result = list(occurrences)
    if citizen_has_prior_visit or not result:
        return result
    first = min(range(len(result)), key=lambda index: _start_order(result[index]))
    result[first] = _switched(result[first], Channel.PHYSICAL)
    return result


def _start_order(occ: Occurrence) -> tuple[datetime, OccurrenceKey]:
    """Sort key: planned start, then key, so ties are still deterministic."""
    return occ.start, occ.key


def _keyed(
    plan_id: int, source: str, starts: Iterable[datetime]
) -> Iterator[tuple[OccurrenceKey, datetime]]:
    """Pair ordered local starts with keys, numbering the occurrences of each date from 0."""
    seq, previous = 0, None
    for local in starts:
        seq = seq + 1 if local.date() == previous else 0
        previous = local.date()
        yield OccurrenceKey(plan_id, source, previous, seq), local


def _plan_occurrences(plan: PlanSpec, start: date, end: date) -> Iterator[Occurrence]:
    """The plan's own occurrences with original dates start..end, one-off changes applied."""
    for key, local in _keyed(plan.plan_id, plan.source, local_starts(plan, start, end)):
        planned = Occurrence(
            key,
            plan.visit_type,
            to_utc(local, plan.zone),
            plan.window_min,
            plan.duration_min,
            plan.channel_on(key.local_date),
        )
        changed = _apply(plan.exceptions.get(key.local_date), planned, plan)
        if changed is not None:
            yield changed


def _moved_in(plan: PlanSpec, start: date, end: date) -> Iterator[Occurrence]:
    """Occurrences from original dates outside start..end that were moved into it."""
    for day, change in plan.exceptions.items():
        if not isinstance(change, Move) or start <= day <= end:
            continue
        if start <= local_day(change.to, plan.zone) <= end:
            yield from (occ for occ in _plan_occurrences(plan, day, day) if occ.moved)


def _apply(change: OneOffChange | None, occ: Occurrence, plan: PlanSpec) -> Occurrence | None:
    """Apply a one-off change to a planned occurrence; None when it is cancelled."""
    match change:
        case None:
            return occ
        case Cancel():
            return None
        case SwitchChannel(channel=channel):
            return _switched(occ, channel)
        case Move(to=to, channel=channel):
            if occ.key.seq != 0:
                return occ
            moved = replace(occ, start=to_utc(to, plan.zone), moved=True)
            return moved if channel is None else _switched(moved, channel)


def _switched(occ: Occurrence, channel: Channel) -> Occurrence:
    """`occ` on `channel`, flagged when that differs from its planned channel."""
    if channel == occ.channel:
        return occ
    # With two channels, every real change flips between planned and not planned.
    return replace(occ, channel=channel, channel_switched=not occ.channel_switched)


def _adjustment_occurrences(
    plan: PlanSpec, adjustment: Adjustment, start: date, end: date
) -> Iterator[Occurrence]:
    """The extra occurrences of one temporary adjustment on dates start..end."""
    for key, local in _keyed(plan.plan_id, adjustment.source, local_starts(adjustment, start, end)):
        yield Occurrence(
            key,
            adjustment.visit_type,
            to_utc(local, plan.zone),
            adjustment.window_min,
            adjustment.duration_min,
            adjustment.channel,
        )
