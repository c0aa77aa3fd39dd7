"""Saving a planner's change: check the plan as it would be, refuse clashes, regenerate its visits.

Callers change the rows inside one transaction and then call `check_and_regenerate`. It
validates the changed plan (`require_valid_plan`), refuses a clash with another of the
citizen's non-swappable series (`overlapping_non_swappable`), and regenerates only that plan's
future, untouched visits. Any error propagates, so the caller's transaction rolls back and
nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import local_day
from ..models import VisitType
from .errors import PlanProblem, SchedulingError
from .generation import GenerationResult, generate
from .plan_rules import Conflict, overlapping_non_swappable, require_valid_plan
from .specs import LoadedPlan, load_plans

# Clashes are looked for over a year from today: that covers weekly and monthly rules and one
# spring and one autumn clock change.
CLASH_SPAN = dt.timedelta(days=366)


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
    return (
        f"{conflict.first.visit_type} at {first:%Y-%m-%d %H:%M} and "
        f"{conflict.second.visit_type} at {second:%H:%M} may overlap; non-swappable visits "
        "need their own time"
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
