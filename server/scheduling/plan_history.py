"""A visit plan's history: every change with who, when, what changed and why, newest first.

The history is read from the audit log, where each plan write records its event (subject
`visit_plan`) with the changed values as `changes: {field: [old, new]}` and the `reason`.
The citizen's pauses (subject `citizen`, actions `citizen.pause*`) stop every plan of the
citizen, so they belong to each plan's history too. `snapshot`, `diff` and `change_json`
are the shapes the writers (the plan API) record, so reader and writers agree in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import AuditEvent, PlanChange, Staff, VisitPlan
from ..vocabulary import Channel
from .rrule_text import describe

# Plan-level actions of the history (anything else with the plan as subject is shown as is).
PAUSE_ACTIONS = ("citizen.pause", "citizen.pause_removed")
HISTORY_LIMIT = 500
# What a plan's audit detail compares before and after a change.
SNAPSHOT_FIELDS = (
    "visit_type", "team_id", "rrule", "days", "local_time", "window_min", "duration_min",
    "default_channel", "channel_by_weekday", "valid_from", "valid_to",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change of a plan (or a pause of its citizen)."""

    at: dt.datetime
    actor: str  # the staff member's name, or the audit actor ("system", "import")
    action: str
    changes: dict[str, list[Any]]  # field → [old, new]
    reason: str | None
    detail: dict[str, Any]


async def plan_history(session: AsyncSession, plan: VisitPlan) -> list[HistoryEntry]:
    """The plan's changes and its citizen's pauses, newest first."""
    about_plan = and_(
        AuditEvent.subject_kind == "visit_plan", AuditEvent.subject_id == str(plan.id)
    )
    about_pauses = and_(
        AuditEvent.subject_kind == "citizen",
        AuditEvent.subject_id == str(plan.citizen_id),
        AuditEvent.action.in_(PAUSE_ACTIONS),
    )
    rows = await session.execute(
        select(AuditEvent, Staff.display_name)
        .outerjoin(Staff, Staff.id == AuditEvent.actor_staff_id)
        .where(or_(about_plan, about_pauses))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return [_entry(event, name) for event, name in rows]


def _entry(event: AuditEvent, name: str | None) -> HistoryEntry:
    """An audit event as a history line."""
    detail = dict(event.detail or {})
    changes = detail.pop("changes", {})
    reason = detail.pop("reason", None)
    return HistoryEntry(
        at=event.at,
        actor=name or event.actor,
        action=event.action,
        changes={str(k): list(v) for k, v in changes.items()} if isinstance(changes, dict) else {},
        reason=reason if isinstance(reason, str) else None,
        detail=detail,
    )


# -- what the writers record: the before and after of a change -------------------------------


def snapshot(plan: VisitPlan, code: str) -> dict[str, Any]:
    """The plan's editable values as JSON, for the before/after of its audit detail."""
    return {
        "visit_type": code,
        "team_id": plan.team_id,
        "rrule": plan.rrule,
        "days": describe(plan.rrule),
        "local_time": plan.local_time.strftime("%H:%M"),
        "window_min": plan.window_min,
        "duration_min": plan.duration_min,
        "default_channel": Channel(plan.default_channel).value,
        "channel_by_weekday": dict(sorted((plan.channel_by_weekday or {}).items())),
        "valid_from": plan.valid_from.isoformat(),
        "valid_to": None if plan.valid_to is None else plan.valid_to.isoformat(),
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """field → [old, new] for every field that changed."""
    return {k: [before.get(k), after[k]] for k in SNAPSHOT_FIELDS if before.get(k) != after[k]}


def change_json(change: PlanChange | None) -> dict[str, Any] | None:
    """A one-off change as JSON for the audit detail's before/after."""
    if change is None:
        return None
    return {
        "kind": change.kind,
        "move_to": None
        if change.move_to_date is None or change.move_to_time is None
        else f"{change.move_to_date.isoformat()} {change.move_to_time:%H:%M}",
        "channel": None if change.channel is None else Channel(change.channel).value,
    }
