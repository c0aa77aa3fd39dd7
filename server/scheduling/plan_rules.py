"""Checks on visit plans: validation for the planner, and clashes between a citizen's plans.

Validation looks at the plan and each adjustment as a series. Daylight-saving warnings and
the smallest gap between occurrences are judged on the series' first year (366 days from
valid_from), which covers one spring and one autumn change for daily and weekly rules.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from server.scheduling.errors import InvalidRecurrence, PlanInvalid, PlanProblem, Severity
from server.scheduling.occurrences import Occurrence, occurrences
from server.scheduling.recurrence import (
    LocalTimeIssue,
    Move,
    PlanSpec,
    Recurring,
    clock_change_days,
    local_starts,
    local_time_issue,
    to_utc,
)
from server.translatable import N_

MAX_WINDOW_MINUTES = 240
MAX_DURATION_MINUTES = 480  # a working shift; anything longer is a typing error
# The demo's codes; callers pass the codes whose VisitType.non_swappable is set.
NON_SWAPPABLE_VISIT_TYPES = frozenset({"medication", "blood_sugar"})
_CHECK_SPAN = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two non-swappable visits for one citizen that may take place at the same time."""

    citizen_id: int
    first: Occurrence
    second: Occurrence


def validate_plan(plan: PlanSpec) -> list[PlanProblem]:
    """Every problem with the plan and its adjustments; errors block saving, warnings inform."""
    problems = [*_series_problems(plan, plan.zone), *_plan_only_problems(plan)]
    for adjustment in plan.adjustments:
        problems.extend(_series_problems(adjustment, plan.zone))
    return problems


def require_valid_plan(plan: PlanSpec) -> list[PlanProblem]:
    """Raise PlanInvalid (with all problems) if the plan has errors; else return its warnings."""
    problems = validate_plan(plan)
    if any(problem.severity is Severity.ERROR for problem in problems):
        raise PlanInvalid(problems)
    return problems


def _error(code: str, message: str, source: str, on: date | None = None) -> PlanProblem:
    """An error-severity problem."""
    return PlanProblem(code, Severity.ERROR, message, source, on)


def _warning(code: str, message: str, source: str, on: date | None = None) -> PlanProblem:
    """A warning-severity problem."""
    return PlanProblem(code, Severity.WARNING, message, source, on)


def _series_problems(spec: Recurring, zone: ZoneInfo) -> list[PlanProblem]:
    """Problems of one series: its numbers, its date range and its rule."""
    problems = _size_problems(spec)
    if spec.valid_to is not None and spec.valid_to < spec.valid_from:
        message = N_(
            "slutdatoen {end} ligger før startdatoen {start}",
            end=spec.valid_to,
            start=spec.valid_from,
        )
        return [*problems, _error("valid_to_before_valid_from", message, spec.source)]
    try:
        starts = _first_year(spec)
    except InvalidRecurrence as exc:  # some rules fail only once expanded from valid_from
        return [*problems, _error("invalid_rrule", exc.reason, spec.source)]
    if not starts:
        message = N_("reglen giver ingen besøg det første år")
        return [*problems, _warning("no_occurrences", message, spec.source)]
    clocks = _clock_change_problems(spec, starts, zone)
    return [*problems, *_gap_problems(spec, starts), *clocks]


def _size_problems(spec: Recurring) -> list[PlanProblem]:
    """Window and duration outside their sane ranges."""
    problems = []
    if not 0 <= spec.window_min <= MAX_WINDOW_MINUTES:
        message = N_(
            "tidsrummet ±{window} min er uden for 0–{most}",
            window=spec.window_min,
            most=MAX_WINDOW_MINUTES,
        )
        problems.append(_error("window_out_of_range", message, spec.source))
    if not 0 < spec.duration_min <= MAX_DURATION_MINUTES:
        message = N_(
            "varigheden {duration} min er uden for 1–{most}",
            duration=spec.duration_min,
            most=MAX_DURATION_MINUTES,
        )
        problems.append(_error("duration_out_of_range", message, spec.source))
    return problems


def _first_year(spec: Recurring) -> tuple[datetime, ...]:
    """The series' local starts in its first year (uncached: validation is one-off)."""
    return local_starts(spec, spec.valid_from, spec.valid_from + _CHECK_SPAN, cache=False)


def _gap_problems(spec: Recurring, starts: Sequence[datetime]) -> list[PlanProblem]:
    """An error when the windows of consecutive occurrences touch or overlap."""
    # Wall-clock gaps, as the planner sees them: on a clock-change day the UTC gap of an
    # hourly rule can shrink to zero, and that day already gets its own warnings.
    gap = min((later - earlier for earlier, later in pairwise(starts)), default=None)
    if gap is None or timedelta(minutes=2 * spec.window_min) < gap:
        return []
    minutes = int(gap.total_seconds() // 60)
    message = N_(
        "tidsrummet ±{window} min overlapper det næste besøg {minutes} min senere",
        window=spec.window_min,
        minutes=minutes,
    )
    return [_error("window_overlaps_next", message, spec.source)]


def _clock_change_problems(
    spec: Recurring, starts: Sequence[datetime], zone: ZoneInfo
) -> list[PlanProblem]:
    """Warnings for occurrences in the skipped or repeated hour of a clock change."""
    change_days = set(clock_change_days(starts[0].date(), starts[-1].date(), zone))
    found = (
        _clock_problem(local, spec.source, zone) for local in starts if local.date() in change_days
    )
    return [problem for problem in found if problem is not None]


def _clock_problem(local: datetime, source: str, zone: ZoneInfo) -> PlanProblem | None:
    """A warning when a naive local time does not exist or exists twice that day."""
    issue = local_time_issue(local, zone)
    if issue is None:
        return None
    planned = to_utc(local, zone).astimezone(zone)
    if issue is LocalTimeIssue.NONEXISTENT:
        message = N_(
            "kl. {local:%H:%M} findes ikke den {local:%d.%m.%Y} (uret stilles frem); "
            "besøget planlægges kl. {planned:%H:%M}",
            local=local,
            planned=planned,
        )
        return _warning("nonexistent_local_time", message, source, local.date())
    message = N_(
        "kl. {local:%H:%M} kommer to gange den {local:%d.%m.%Y} (uret stilles tilbage); "
        "besøget planlægges ved den første, sommertid kl. {planned:%H:%M}",
        local=local,
        planned=planned,
    )
    return _warning("ambiguous_local_time", message, source, local.date())


def _plan_only_problems(plan: PlanSpec) -> list[PlanProblem]:
    """Problems with the parts only a plan has: weekdays, pauses, one-off changes, adjustments."""
    problems = [
        _error(
            "invalid_weekday",
            N_("ugedag {day} er ikke 0 (mandag) til 6 (søndag)", day=day),
            plan.source,
        )
        for day in plan.channels
        if day not in range(7)
    ]
    problems += [
        _error(
            "pause_inverted",
            N_("pausen slutter {end} før den begynder {start}", end=p.end, start=p.start),
            plan.source,
            p.start,
        )
        for p in plan.pauses
        if p.end < p.start
    ]
    counts = Counter(adjustment.id for adjustment in plan.adjustments)
    problems += [
        _error(
            "duplicate_adjustment_id",
            N_("justering {ident} er brugt to gange", ident=ident),
            f"adj:{ident}",
        )
        for ident, count in counts.items()
        if count > 1
    ]
    return problems + _change_problems(plan)


def _change_problems(plan: PlanSpec) -> list[PlanProblem]:
    """One-off changes that hit no occurrence, moves that are ambiguous or land on a DST hour."""
    try:
        if not _first_year(plan):
            return []  # nothing to change; the series check reports it
    except InvalidRecurrence:
        return []  # already reported by the series check
    problems = []
    for day, change in sorted(plan.exceptions.items(), key=lambda item: item[0]):
        count = len(local_starts(plan, day, day, cache=False))
        if count == 0:
            message = N_("ændringen den {day} rammer intet planlagt besøg", day=day)
            problems.append(_warning("change_without_occurrence", message, plan.source, day))
        if isinstance(change, Move):
            problems += _move_problems(plan, day, change, count)
    return problems


def _move_problems(plan: PlanSpec, day: date, move: Move, count: int) -> list[PlanProblem]:
    """A move on a day with several visits, or to a time a clock change skips or repeats."""
    problems = []
    if count > 1:
        message = N_(
            "{day} har {count} besøg; en flytning gælder kun det første", day=day, count=count
        )
        problems.append(_error("move_ambiguous", message, plan.source, day))
    if move.to.tzinfo is None:
        problem = _clock_problem(move.to, plan.source, plan.zone)
        problems += [] if problem is None else [problem]
    return problems


def overlapping_non_swappable(
    plans: Iterable[PlanSpec],
    start: date,
    end: date,
    non_swappable: frozenset[str] = NON_SWAPPABLE_VISIT_TYPES,
) -> list[Conflict]:
    """Clashes between a citizen's non-swappable series on local dates start..end.

    Each pair of series (plan or adjustment) is reported once, at its first clash. A visit
    may take place from the start of its window until its window end plus its duration;
    two visits clash when those spans overlap, so simultaneous zero-window visits clash too.
    """
    by_citizen: defaultdict[int, list[Occurrence]] = defaultdict(list)
    for plan in plans:
        found = occurrences(plan, start, end)
        by_citizen[plan.citizen_id] += [occ for occ in found if occ.visit_type in non_swappable]
    return [
        conflict
        for citizen_id in sorted(by_citizen)
        for conflict in _citizen_conflicts(citizen_id, by_citizen[citizen_id])
    ]


def _citizen_conflicts(citizen_id: int, found: Sequence[Occurrence]) -> list[Conflict]:
    """Sweep one citizen's occurrences in span order, reporting each series pair once."""
    ordered = sorted(found, key=lambda occ: (_span(occ)[0], occ.key))
    reported: set[tuple[tuple[int, str], tuple[int, str]]] = set()
    conflicts = []
    for index, occ in enumerate(ordered):
        for other in _overlapping_later(ordered, index):
            pair = (min(_series(occ), _series(other)), max(_series(occ), _series(other)))
            if pair[0] == pair[1] or pair in reported:
                continue
            reported.add(pair)
            conflicts.append(Conflict(citizen_id, occ, other))
    return conflicts


def _overlapping_later(ordered: Sequence[Occurrence], index: int) -> Iterator[Occurrence]:
    """Occurrences after `index` (in span-start order) whose spans overlap its span."""
    end = _span(ordered[index])[1]
    for other in ordered[index + 1 :]:
        if _span(other)[0] >= end:
            return
        yield other


def _span(occ: Occurrence) -> tuple[datetime, datetime]:
    """When the visit may take place: window start to window end plus duration."""
    window = occ.window
    return window.start, window.end + timedelta(minutes=occ.duration_min)


def _series(occ: Occurrence) -> tuple[int, str]:
    """The plan and source an occurrence belongs to."""
    return occ.key.plan_id, occ.key.source
