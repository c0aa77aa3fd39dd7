"""Visit plans as stored → `PlanSpec` values for the pure core, loaded in a few queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import CitizenPause, PlanAdjustment, PlanChange, VisitPlan, VisitType
from ..vocabulary import Channel
from .recurrence import (
    Adjustment,
    Cancel,
    Move,
    OneOffChange,
    Pause,
    PlanSpec,
    SwitchChannel,
)

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    """A stored plan with the spec built from it and everything it refers to."""

    row: VisitPlan
    spec: PlanSpec


def weekday_channels(raw: Mapping[str, object]) -> dict[int, Channel]:
    """`channel_by_weekday` JSON ("0".."6" or "mon".."sun" → channel) as weekday → Channel."""
    result = {}
    for key, value in raw.items():
        day = WEEKDAY_NAMES.index(key) if key in WEEKDAY_NAMES else int(key)
        result[day] = Channel(str(value))
    return result


def change_of(row: PlanChange) -> OneOffChange:
    """One stored one-off change as a core value."""
    channel = row.channel
    if row.kind == "cancel":
        return Cancel(row.reason or "")
    if row.kind == "switch" and channel is not None:
        return SwitchChannel(channel)
    if row.kind == "move" and row.move_to_date is not None and row.move_to_time is not None:
        return Move(dt.datetime.combine(row.move_to_date, row.move_to_time), channel)
    raise ValueError(f"plan change {row.id} of kind {row.kind!r} is incomplete")


def adjustment_of(row: PlanAdjustment, codes: Mapping[int, str]) -> Adjustment:
    """One stored adjustment as a core value."""
    return Adjustment(
        id=row.id,
        visit_type=codes[row.visit_type_id],
        rrule=row.rrule,
        time_of_day=row.local_time,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        channel=row.channel,
        window_min=row.window_min,
        duration_min=row.duration_min,
    )


def spec_of(
    plan: VisitPlan,
    code: str,
    zone: ZoneInfo,
    changes: Sequence[PlanChange] = (),
    pauses: Sequence[CitizenPause] = (),
    adjustments: Sequence[Adjustment] = (),
) -> PlanSpec:
    """A stored plan and its parts as the core's `PlanSpec`."""
    return PlanSpec(
        plan_id=plan.id,
        citizen_id=plan.citizen_id,
        visit_type=code,
        rrule=plan.rrule,
        time_of_day=plan.local_time,
        window_min=plan.window_min,
        duration_min=plan.duration_min,
        valid_from=plan.valid_from,
        valid_to=plan.valid_to,
        zone=zone,
        default_channel=plan.default_channel,
        channels=weekday_channels(plan.channel_by_weekday or {}),
        pauses=tuple(Pause(p.start, p.end, p.reason or "") for p in pauses),
        exceptions={c.local_date: change_of(c) for c in changes},
        adjustments=tuple(adjustments),
    )


async def visit_types(session: AsyncSession) -> dict[int, VisitType]:
    """Every visit type by id (a handful per organisation)."""
    return {t.id: t for t in await session.scalars(select(VisitType))}


async def load_plans(
    session: AsyncSession,
    *,
    start: dt.date,
    zone: ZoneInfo,
    plan_ids: Collection[int] | None = None,
    citizen_ids: Collection[int] | None = None,
) -> list[LoadedPlan]:
    """Plans still valid on or after `start` (or exactly the ones asked for), as specs."""
    query: Select[VisitPlan] = select(VisitPlan).order_by(VisitPlan.id)
    if plan_ids is not None:
        query = query.where(VisitPlan.id.in_(plan_ids))
    elif citizen_ids is not None:
        query = query.where(VisitPlan.citizen_id.in_(citizen_ids))
    else:
        query = query.where(or_(VisitPlan.valid_to.is_(None), VisitPlan.valid_to >= start))
    plans = list(await session.scalars(query))
    if not plans:
        return []
    codes = {i: t.code for i, t in (await visit_types(session)).items()}
    parts = await _parts(session, plans, filtered=plan_ids is not None or citizen_ids is not None)
    changes, pauses, adjustments = parts
    return [
        LoadedPlan(
            plan,
            spec_of(
                plan,
                codes[plan.visit_type_id],
                zone,
                changes.get(plan.id, ()),
                pauses.get(plan.citizen_id, ()),
                [adjustment_of(a, codes) for a in adjustments.get(plan.id, ())],
            ),
        )
        for plan in plans
    ]


async def _parts(
    session: AsyncSession, plans: Sequence[VisitPlan], *, filtered: bool
) -> tuple[
    dict[int, list[PlanChange]], dict[int, list[CitizenPause]], dict[int, list[PlanAdjustment]]
]:
    """Changes and adjustments by plan id, pauses by citizen id (all rows when not filtered)."""
    changes_q = select(PlanChange)
    pauses_q = select(CitizenPause)
    adjust_q = select(PlanAdjustment)
    if filtered:
        plan_ids = [p.id for p in plans]
        changes_q = changes_q.where(PlanChange.plan_id.in_(plan_ids))
        adjust_q = adjust_q.where(PlanAdjustment.plan_id.in_(plan_ids))
        pauses_q = pauses_q.where(CitizenPause.citizen_id.in_({p.citizen_id for p in plans}))
    changes: defaultdict[int, list[PlanChange]] = defaultdict(list)
    for change in await session.scalars(changes_q):
        changes[change.plan_id].append(change)
    pauses: defaultdict[int, list[CitizenPause]] = defaultdict(list)
    for pause in await session.scalars(pauses_q):
        pauses[pause.citizen_id].append(pause)
    adjustments: defaultdict[int, list[PlanAdjustment]] = defaultdict(list)
    for adjustment in await session.scalars(adjust_q.order_by(PlanAdjustment.id)):
        adjustments[adjustment.plan_id].append(adjustment)
    return changes, pauses, adjustments
