"""Wire models of the visit-plan API (`plans.py`): what planners send and what they get back."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from ..models import CitizenPause, PlanAdjustment, PlanChange, VisitPlan
from ..scheduling.errors import PlanProblem
from ..scheduling.generation import GenerationResult
from .models import WireModel

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ChannelName = Literal["screen", "physical"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Rule = Field(min_length=1, max_length=500)
Reason = Field(default=None, max_length=500)


class PlanCreate(WireModel):
    """A new visit plan; `channel_by_weekday` overrides `default_channel` on some weekdays."""

    citizen_id: int
    visit_type: str = Field(min_length=1, max_length=32)
    team_id: int
    rrule: str = Rule
    local_time: dt.time
    window_min: int = Field(default=15, ge=-10_000, le=10_000)  # plan_rules checks the range
    duration_min: int = Field(default=5, ge=-10_000, le=10_000)
    default_channel: ChannelName = "screen"
    channel_by_weekday: dict[Weekday, ChannelName] = {}
    valid_from: dt.date
    valid_to: dt.date | None = None


class PlanEdit(WireModel):
    """Fields to change; those left out stay as they are (send `valid_to: null` to clear it)."""

    visit_type: str | None = Field(default=None, min_length=1, max_length=32)
    team_id: int | None = None
    rrule: str | None = Field(default=None, min_length=1, max_length=500)
    local_time: dt.time | None = None
    window_min: int | None = Field(default=None, ge=-10_000, le=10_000)
    duration_min: int | None = Field(default=None, ge=-10_000, le=10_000)
    default_channel: ChannelName | None = None
    channel_by_weekday: dict[Weekday, ChannelName] | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class PlanEnd(WireModel):
    """End a plan: no visits after `last_day` (local date)."""

    last_day: dt.date
    reason: str | None = Reason


class ChangeCreate(WireModel):
    """A one-off change to the visit(s) of one local date of the plan."""

    date: dt.date
    kind: Literal["move", "cancel", "switch"]
    move_to_date: dt.date | None = None
    move_to_time: dt.time | None = None
    channel: ChannelName | None = None
    reason: str | None = Reason


class AdjustmentCreate(WireModel):
    """Temporary extra visits on top of the plan, e.g. an afternoon call for 14 days."""

    visit_type: str = Field(min_length=1, max_length=32)
    rrule: str = Rule
    local_time: dt.time
    valid_from: dt.date
    valid_to: dt.date
    channel: ChannelName = "screen"
    window_min: int = Field(default=15, ge=-10_000, le=10_000)
    duration_min: int = Field(default=5, ge=-10_000, le=10_000)


class PauseCreate(WireModel):
    """No visits for the citizen on local dates start..end (hospital stay, holiday)."""

    citizen_id: int
    start: dt.date
    end: dt.date
    reason: str | None = Reason


class Empty(WireModel):
    """No fields."""


class ProblemOut(WireModel):
    """One validation finding: `code` is stable, `message` is for people."""

    code: str
    severity: str
    message: str
    source: str
    on: dt.date | None


class ChangeOut(WireModel):
    """A stored one-off change."""

    date: dt.date
    kind: str
    move_to_date: dt.date | None
    move_to_time: dt.time | None
    channel: str | None
    reason: str | None


class AdjustmentOut(WireModel):
    """A stored temporary adjustment."""

    id: int
    visit_type_id: int
    rrule: str
    local_time: dt.time
    valid_from: dt.date
    valid_to: dt.date
    channel: str
    window_min: int
    duration_min: int


class PauseOut(WireModel):
    """A stored pause of the citizen."""

    id: int
    citizen_id: int
    start: dt.date
    end: dt.date
    reason: str | None


class PlanOut(WireModel):
    """A visit plan with its one-off changes, adjustments and the citizen's pauses."""

    id: int
    citizen_id: int
    visit_type: str
    team_id: int
    rrule: str
    local_time: dt.time
    window_min: int
    duration_min: int
    default_channel: str
    channel_by_weekday: dict[str, str]
    valid_from: dt.date
    valid_to: dt.date | None
    changes: list[ChangeOut]
    adjustments: list[AdjustmentOut]
    pauses: list[PauseOut]


class PlanList(WireModel):
    """A citizen's plans."""

    plans: list[PlanOut]


class GenerationOut(WireModel):
    """What regenerating the visits did."""

    created: int
    updated: int
    cancelled: int


class PlanSaved(WireModel):
    """The saved plan, the warnings the planner should read (e.g. clock changes), and visits."""

    plan: PlanOut
    warnings: list[ProblemOut]
    generation: GenerationOut


class PauseSaved(WireModel):
    """The saved pause and what regenerating the citizen's visits did."""

    pause: PauseOut
    generation: GenerationOut


def problem_out(problem: PlanProblem) -> ProblemOut:
    """A plan problem on the wire."""
    return ProblemOut(
        code=problem.code,
        severity=problem.severity.value,
        message=problem.message,
        source=problem.source,
        on=problem.on,
    )


def generation_out(result: GenerationResult) -> GenerationOut:
    """Generation counts on the wire."""
    return GenerationOut(created=result.created, updated=result.updated, cancelled=result.cancelled)


def pause_out(pause: CitizenPause) -> PauseOut:
    """A pause on the wire."""
    return PauseOut(
        id=pause.id, citizen_id=pause.citizen_id, start=pause.start, end=pause.end,
        reason=pause.reason,
    )  # fmt: skip


def plan_out(
    plan: VisitPlan,
    code: str,
    changes: list[PlanChange],
    adjustments: list[PlanAdjustment],
    pauses: list[CitizenPause],
) -> PlanOut:
    """A plan and its parts on the wire."""
    return PlanOut(
        id=plan.id,
        citizen_id=plan.citizen_id,
        visit_type=code,
        team_id=plan.team_id,
        rrule=plan.rrule,
        local_time=plan.local_time,
        window_min=plan.window_min,
        duration_min=plan.duration_min,
        default_channel=plan.default_channel.value,
        channel_by_weekday={str(k): str(v) for k, v in (plan.channel_by_weekday or {}).items()},
        valid_from=plan.valid_from,
        valid_to=plan.valid_to,
        changes=[
            ChangeOut(
                date=c.local_date,
                kind=c.kind,
                move_to_date=c.move_to_date,
                move_to_time=c.move_to_time,
                channel=None if c.channel is None else c.channel.value,
                reason=c.reason,
            )
            for c in sorted(changes, key=lambda c: c.local_date)
        ],
        adjustments=[
            AdjustmentOut(
                id=a.id,
                visit_type_id=a.visit_type_id,
                rrule=a.rrule,
                local_time=a.local_time,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                channel=a.channel.value,
                window_min=a.window_min,
                duration_min=a.duration_min,
            )  # fmt: skip
            for a in adjustments
        ],
        pauses=[pause_out(p) for p in pauses],
    )
