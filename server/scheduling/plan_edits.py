"""Saving a planner's change: check the plan as it would be, refuse clashes, regenerate its visits.

Also what the plan editor asks before saving: the medication rules a move or a retype would
break (`move_breaches`, `retype_breaches`; the rules are in `medication.py`) and a preview of
an unsaved plan's next four weeks (`draft_spec`, `preview`).

Callers change the rows inside one transaction and then call `check_and_regenerate`. It
validates the changed plan (`require_valid_plan`), refuses a clash with another of the
citizen's non-swappable series (`overlapping_non_swappable`), and regenerates only that plan's
future, untouched visits. Any error propagates, so the caller's transaction rolls back and
nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import local_day
from ..models import CitizenPause, VisitPlan, VisitType
from ..translatable import N_
from .errors import InvalidRecurrence, PlanProblem, SchedulingError
from .generation import GenerationResult, generate
from .medication import Breach, check_move, check_retype
from .occurrences import Occurrence, occurrences
from .plan_rules import Conflict, overlapping_non_swappable, require_valid_plan, validate_plan
from .recurrence import Pause, PlanSpec
from .specs import LoadedPlan, load_plans

# Clashes are looked for over a year from today: that covers weekly and monthly rules and one
# spring and one autumn clock change.
CLASH_SPAN = dt.timedelta(days=366)
# The plan editor previews the next four weeks.
PREVIEW_DAYS = 28


class NonSwappableOverlap(SchedulingError):
    """Two non-swappable visits (e.g. medication) of one citizen could take place at once."""

    code: ClassVar[str] = "non_swappable_overlap"

    def __init__(self, conflicts: Sequence[Conflict], zone: ZoneInfo) -> None:
        super().__init__(describe(conflicts[0], zone))
        self.conflicts = list(conflicts)


@dataclass(frozen=True, slots=True)
class Saved:
    """The outcome of a checked save: the plan's warnings and what generation did."""

    warnings: list[PlanProblem]
    generation: GenerationResult


def describe(conflict: Conflict, zone: ZoneInfo) -> str:
    """A planner-readable sentence for one clash, in the organisation's wall-clock time."""
    first = conflict.first.start.astimezone(zone)
    second = conflict.second.start.astimezone(zone)
    return N_(
        "{first_type} {first:%d.%m.%Y} kl. {first:%H:%M} og {second_type} kl. {second:%H:%M} "
        "kan overlappe; faste besøg skal have deres egen tid",
        first_type=conflict.first.visit_type,
        first=first,
        second_type=conflict.second.visit_type,
        second=second,
    )


async def non_swappable_codes(session: AsyncSession, organisation_id: int) -> frozenset[str]:
    """The codes of the organisation's non-swappable visit types."""
    rows = await session.scalars(
        select(VisitType.code).where(
            VisitType.organisation_id == organisation_id, VisitType.non_swappable.is_(True)
        )
    )
    return frozenset(rows)


def clashes_of(
    loaded: Sequence[LoadedPlan], plan_id: int, today: dt.date, non_swappable: frozenset[str]
) -> list[Conflict]:
    """Clashes that involve plan `plan_id` (clashes between other plans are not its business)."""
    relevant = [
        lp.spec
        for lp in loaded
        if lp.spec.visit_type in non_swappable
        or any(a.visit_type in non_swappable for a in lp.spec.adjustments)
    ]
    found = overlapping_non_swappable(relevant, today, today + CLASH_SPAN, non_swappable)
    return [c for c in found if plan_id in (c.first.key.plan_id, c.second.key.plan_id)]


async def check_and_regenerate(
    session: AsyncSession,
    *,
    plan_id: int,
    citizen_id: int,
    organisation_id: int,
    now: dt.datetime,
    zone: ZoneInfo,
    horizon_days: int,
) -> Saved:
    """Validate the (flushed) plan, refuse clashes, then regenerate its visits."""
    await session.flush()
    today = local_day(now, zone)
    loaded = await load_plans(session, start=today, zone=zone, citizen_ids=[citizen_id])
    target = next(lp for lp in loaded if lp.row.id == plan_id)
    warnings = require_valid_plan(target.spec)
    codes = await non_swappable_codes(session, organisation_id)
    conflicts = clashes_of(loaded, plan_id, today, codes)
    if conflicts:
        raise NonSwappableOverlap(conflicts, zone)
    result = await generate(session, now, zone=zone, horizon_days=horizon_days, plan_ids=[plan_id])
    return Saved(warnings, result)


async def regenerate_citizen(
    session: AsyncSession, citizen_id: int, now: dt.datetime, zone: ZoneInfo, horizon_days: int
) -> GenerationResult:
    """Regenerate every plan of one citizen (after a pause is added or removed)."""
    await session.flush()
    start = local_day(now, zone)
    loaded = await load_plans(session, start=start, zone=zone, citizen_ids=[citizen_id])
    if not loaded:
        return GenerationResult()
    ids = [lp.row.id for lp in loaded]
    return await generate(session, now, zone=zone, horizon_days=horizon_days, plan_ids=ids)


async def is_non_swappable(session: AsyncSession, visit_type_id: int) -> bool:
    """Whether the visit type is medication-like (VisitType.non_swappable)."""
    found = await session.scalar(
        select(VisitType.non_swappable).where(VisitType.id == visit_type_id)
    )
    return bool(found)


async def move_breaches(
    session: AsyncSession,
    plan: VisitPlan,
    day: dt.date,
    to: dt.datetime,
    *,
    zone: ZoneInfo,
    min_gap: dt.timedelta,
) -> list[Breach]:
    """The medication rules a one-off move of the plan's dose on `day` to `to` would break."""
    if not await is_non_swappable(session, plan.visit_type_id):
        return []
    await session.flush()
    loaded = await load_plans(session, start=day, zone=zone, plan_ids=[plan.id])
    return check_move(loaded[0].spec, day, to, min_gap)


async def retype_breaches(
    session: AsyncSession, organisation_id: int, old_type_id: int, new_type_id: int
) -> list[Breach]:
    """The medication rule a change of the plan's visit type would break."""
    codes = await session.execute(
        select(VisitType.id, VisitType.code).where(VisitType.id.in_([old_type_id, new_type_id]))
    )
    by_id = {type_id: code for type_id, code in codes}
    non_swappable = await non_swappable_codes(session, organisation_id)
    return check_retype(by_id[old_type_id], by_id[new_type_id], non_swappable)


@dataclass(frozen=True, slots=True)
class Preview:
    """An unsaved plan's visits on start..end, its problems and the paused days."""

    start: dt.date
    end: dt.date
    visits: list[Occurrence]
    problems: list[PlanProblem]
    paused_days: list[dt.date]


def preview(spec: PlanSpec, today: dt.date, days: int = PREVIEW_DAYS) -> Preview:
    """The next `days` days of a plan from today or its first day, whichever is later."""
    start = max(today, spec.valid_from)
    end = start + dt.timedelta(days=days - 1)
    problems = validate_plan(spec)
    try:
        visits = occurrences(spec, start, end)
    except InvalidRecurrence:
        visits = []  # validate_plan reports the rule
    paused = [start + dt.timedelta(days=n) for n in range(days)]
    return Preview(start, end, visits, problems, [d for d in paused if spec.paused_on(d)])


async def draft_spec(
    session: AsyncSession, draft: PlanSpec, plan_id: int | None, zone: ZoneInfo
) -> PlanSpec:
    """An unsaved plan with the citizen's pauses and, for an edit, the plan's own changes."""
    if plan_id is not None:
        loaded = await load_plans(session, start=draft.valid_from, zone=zone, plan_ids=[plan_id])
        if loaded and loaded[0].row.citizen_id == draft.citizen_id:
            stored = loaded[0].spec
            return replace(
                draft,
                plan_id=plan_id,
                exceptions=stored.exceptions,
                adjustments=stored.adjustments,
                pauses=stored.pauses,
            )
    rows = await session.scalars(
        select(CitizenPause).where(CitizenPause.citizen_id == draft.citizen_id)
    )
    pauses = tuple(Pause(p.start, p.end, p.reason or "") for p in rows)
    return replace(draft, pauses=pauses)
