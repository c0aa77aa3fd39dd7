"""Wire models of the visit-plan API (`plans.py`): what planners send and what they get back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from ..bounds import LocalTime
from ..models import CitizenPause, PlanAdjustment, PlanChange, VisitPlan
from ..scheduling.errors import PlanProblem
from ..scheduling.generation import GenerationResult
from ..scheduling.plan_history import HistoryEntry
from ..scheduling.plan_words import DayChoice, ScheduleWords, from_rrule
from ..scheduling.rrule_text import describe
from ..translatable import translated
from .models import WireModel

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ChannelName = Literal["screen", "physical"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Reason = Field(default=None, max_length=500)
# Changes that stop, move or add visits need a reason; a blank one is refused (invalid_input).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ScheduleIn(WireModel):
    """Days of the week in words (the server writes the RRULE): every day, weekdays or chosen."""

    days: Literal["every_day", "weekdays", "chosen"]
    weekdays: list[Weekday] = Field(default=[], max_length=7)
    every_weeks: Literal[1, 2] = 1

    def words(self) -> ScheduleWords:
        """The core value."""
        return ScheduleWords(DayChoice(self.days), frozenset(self.weekdays), self.every_weeks)


class _RuleOrWords(WireModel):
    """A recurrence given as words (`schedule`, the editor) or as a rule (`rrule`, API users)."""

    rrule: str | None = Field(default=None, min_length=1, max_length=500)
    schedule: ScheduleIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _RuleOrWords:
        if (self.rrule is None) == (self.schedule is None):
            raise ValueError("give either schedule (days in words) or rrule, not both")
        return self


class PlanCreate(_RuleOrWords):
    """A new visit plan; `channel_by_weekday` overrides `default_channel` on some weekdays."""

    citizen_id: int
    visit_type: str = Field(min_length=1, max_length=32)
    team_id: int
    local_time: LocalTime
    window_min: int = Field(default=15, ge=-10_000, le=10_000)  # plan_rules checks the range
    duration_min: int = Field(default=5, ge=-10_000, le=10_000)
    default_channel: ChannelName = "screen"
    channel_by_weekday: dict[Weekday, ChannelName] = {}
    valid_from: dt.date
    valid_to: dt.date | None = None
    reason: str | None = Reason


class PreviewIn(PlanCreate):
    """An unsaved plan form; `plan_id` previews an edit with that plan's changes and extras."""

    plan_id: int | None = None


class PlanEdit(WireModel):
    """Fields to change; those left out stay as they are (send `valid_to: null` to clear it)."""

    visit_type: str | None = Field(default=None, min_length=1, max_length=32)
    team_id: int | None = None
    rrule: str | None = Field(default=None, min_length=1, max_length=500)
    schedule: ScheduleIn | None = None
    local_time: LocalTime | None = None
    window_min: int | None = Field(default=None, ge=-10_000, le=10_000)
    duration_min: int | None = Field(default=None, ge=-10_000, le=10_000)
    default_channel: ChannelName | None = None
    channel_by_weekday: dict[Weekday, ChannelName] | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    reason: str | None = Reason
    override_reason: Text | None = None


class PlanEnd(WireModel):
    """End a plan: no visits after `last_day` (local date)."""

    last_day: dt.date
    reason: Text


class ChangeCreate(WireModel):
    """A one-off change to the visit(s) of one local date of the plan."""

    date: dt.date
    kind: Literal["move", "cancel", "switch"]
    move_to_date: dt.date | None = None
    move_to_time: LocalTime | None = None
    channel: ChannelName | None = None
    reason: Text
    # A nurse's or visitator's reason for breaking a medication rule on purpose.
    override_reason: Text | None = None


class AdjustmentCreate(_RuleOrWords):
    """Temporary extra visits on top of the plan, e.g. an afternoon call for 14 days."""

    visit_type: str = Field(min_length=1, max_length=32)
    local_time: LocalTime
    valid_from: dt.date
    valid_to: dt.date
    channel: ChannelName = "screen"
    window_min: int = Field(default=15, ge=-10_000, le=10_000)
    duration_min: int = Field(default=5, ge=-10_000, le=10_000)
    reason: Text


class PauseCreate(WireModel):
    """No visits for the citizen on local dates start..end (hospital stay, holiday)."""

    citizen_id: int
    start: dt.date
    end: dt.date
    reason: Text


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
    move_to_time: LocalTime | None
    channel: str | None
    reason: str | None


class AdjustmentOut(WireModel):
    """A stored temporary adjustment."""

    id: int
    visit_type_id: int
    rrule: str
    rrule_text: str
    local_time: LocalTime
    valid_from: dt.date
    valid_to: dt.date
    channel: str
    window_min: int
    duration_min: int
    reason: str | None


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
    rrule_text: str  # the rule in Danish words ("Mandag, onsdag og fredag")
    schedule: ScheduleIn | None  # the rule as the editor's words; None for other rules
    local_time: LocalTime
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


class PreviewVisit(WireModel):
    """One visit of a previewed plan, in the organisation's wall-clock time."""

    date: dt.date
    time: LocalTime
    weekday: int  # Monday = 0
    visit_type: str
    channel: str
    source: str  # "plan" or "adj:<id>"
    moved: bool
    note: str | None  # the clock-change warning of that day, if any


class PreviewOut(WireModel):
    """The next four weeks of an unsaved plan, and what validation says about it."""

    rrule: str
    rrule_text: str
    start: dt.date
    end: dt.date
    visits: list[PreviewVisit]
    problems: list[ProblemOut]
    paused_days: list[dt.date]


class HistoryEntryOut(WireModel):
    """One change of a plan: who, when, which action, old → new values and the reason."""

    at: dt.datetime
    actor: str
    action: str
    changes: dict[str, list[Any]]
    reason: str | None
    detail: dict[str, Any]


class HistoryOut(WireModel):
    """A plan's history, newest first."""

    plan_id: int
    entries: list[HistoryEntryOut]


class ContactPersonsIn(WireModel):
    """The citizen's contact persons, most responsible first: 1–3 staff of the citizen's team."""

    staff_ids: list[int] = Field(min_length=1, max_length=3)


class StaffRef(WireModel):
    """A staff member by id and name."""

    id: int
    display_name: str


class ContactPersonsOut(WireModel):
    """The citizen's contact persons after the change."""

    citizen_id: int
    contact_persons: list[StaffRef]


def history_out(plan_id: int, entries: list[HistoryEntry], language: str = "da") -> HistoryOut:
    """A plan's history on the wire; the rule in words in the reader's ``language``."""
    return HistoryOut(
        plan_id=plan_id,
        entries=[
            HistoryEntryOut(
                at=e.at,
                actor=e.actor,
                action=e.action,
                changes=_days_in(e.changes, language),
                reason=e.reason,
                detail=e.detail,
            )  # fmt: skip
            for e in entries
        ],
    )


def _days_in(changes: dict[str, Any], language: str) -> dict[str, Any]:
    """The audit stores the days in Danish words; say them again from the rule itself."""
    rules = changes.get("rrule")
    if "days" not in changes or not isinstance(rules, list):
        return changes
    days = [describe(rule, language) if isinstance(rule, str) else rule for rule in rules]
    return {**changes, "days": days}


def schedule_out(rule: str) -> ScheduleIn | None:
    """A stored rule as the editor's words, when it has them."""
    words = from_rrule(rule)
    if words is None:
        return None
    days = [d for d in WEEKDAYS if d in words.weekdays]
    return ScheduleIn(days=words.days.value, weekdays=days, every_weeks=words.every_weeks)


def problem_out(problem: PlanProblem, gettext: Callable[[str], str] = str) -> ProblemOut:
    """A plan problem on the wire, its message in ``gettext``'s language."""
    return ProblemOut(
        code=problem.code,
        severity=problem.severity.value,
        message=translated(problem.message, gettext),
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
        rrule_text=describe(plan.rrule),
        schedule=schedule_out(plan.rrule),
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
                rrule_text=describe(a.rrule),
                local_time=a.local_time,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                channel=a.channel.value,
                window_min=a.window_min,
                duration_min=a.duration_min,
                reason=a.reason,
            )  # fmt: skip
            for a in adjustments
        ],
        pauses=[pause_out(p) for p in pauses],
    )
