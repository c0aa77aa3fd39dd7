"""What the team must act on: alerts and care tasks, stored until someone closes them.

The one place that writes ``alert`` and ``care_task`` rows. Writers run inside the caller's
transaction and return plain values; the caller tells the team's open consoles after commit
(``updates.TeamFeed``), so nobody is told of a row that was rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..identity import StaffIdentity
from ..models import Alert, CareTask, Citizen, Visit
from ..vocabulary import AlertKind, OutcomeKind, TaskKind

CALL_BACK_REPEAT = dt.timedelta(minutes=30)  # one open "Ring til mig" per half hour is enough


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """An alert written in this transaction, to push to the team's consoles after commit."""

    alert_id: int
    team_id: int
    citizen_id: int | None
    visit_id: int | None
    kind: AlertKind
    message: str
    created_at: dt.datetime


def _raised(alert: Alert) -> AlertRaised:
    return AlertRaised(
        alert.id,
        alert.team_id,
        alert.citizen_id,
        alert.visit_id,
        alert.kind,
        alert.message,
        alert.created_at,
    )


async def raise_alert(
    session: AsyncSession,
    citizen: Citizen,
    kind: AlertKind,
    message: str,
    now: dt.datetime,
    *,
    visit: Visit | None = None,
) -> AlertRaised:
    """Store an alert for the visit's team (or the citizen's, without a visit)."""
    alert = Alert(
        organisation_id=citizen.organisation_id,
        team_id=visit.team_id if visit is not None else citizen.team_id,
        citizen_id=citizen.id,
        visit_id=visit.id if visit is not None else None,
        kind=kind,
        message=message[:500],
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    return _raised(alert)


async def request_call_back(
    session: AsyncSession, citizen: Citizen, now: dt.datetime
) -> tuple[AlertRaised, bool]:
    """The citizen pressed "Ring til mig": the open request, and whether it was already open."""
    open_alert = await session.scalar(
        select(Alert).where(
            Alert.citizen_id == citizen.id,
            Alert.kind == AlertKind.CALL_BACK_REQUEST,
            Alert.acknowledged_at.is_(None),
            Alert.created_at > now - CALL_BACK_REPEAT,
        )
    )
    if open_alert is not None:
        return _raised(open_alert), True
    name = citizen.preferred_name or citizen.name
    message = f"{name} beder om et opkald"
    return await raise_alert(session, citizen, AlertKind.CALL_BACK_REQUEST, message, now), False


async def already_alerted(session: AsyncSession, visit_id: int, kinds: set[AlertKind]) -> bool:
    """Whether the team was already told about this visit with one of ``kinds``."""
    found = await session.scalar(
        select(Alert.id).where(Alert.visit_id == visit_id, Alert.kind.in_(kinds)).limit(1)
    )
    return found is not None


async def acknowledge_visit_alerts(
    session: AsyncSession, visit_id: int, staff_id: int | None, now: dt.datetime
) -> None:
    """Close every open alert about the visit (it happened after all)."""
    await session.execute(
        update(Alert)
        .where(Alert.visit_id == visit_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_staff_id=staff_id)
    )


async def open_physical_task(
    session: AsyncSession,
    visit: Visit,
    reason: str | None,
    due: dt.datetime,
    now: dt.datetime,
    *,
    created_by: int | None = None,
) -> CareTask:
    """The visit's one open physical-visit task: the existing one, or a new one."""
    task = await session.scalar(_open_physical_tasks(visit.id).limit(1))
    if task is not None:
        return task
    citizen = await session.get_one(Citizen, visit.citizen_id)
    task = CareTask(
        organisation_id=citizen.organisation_id,
        team_id=visit.team_id,
        citizen_id=visit.citizen_id,
        visit_id=visit.id,
        kind=TaskKind.PHYSICAL_VISIT,
        reason=reason,
        due_at=due,
        created_at=now,
        created_by_staff_id=created_by,
    )
    session.add(task)
    await session.flush()
    return task


def _open_physical_tasks(visit_id: int) -> Select[CareTask]:
    return select(CareTask).where(
        CareTask.visit_id == visit_id,
        CareTask.kind == TaskKind.PHYSICAL_VISIT,
        CareTask.done_at.is_(None),
    )


@dataclass(frozen=True, slots=True)
class TaskClosing:
    """Why and by whom a visit's open physical-visit tasks are closed (kept as history)."""

    identity: StaffIdentity
    visit: Visit
    kind: OutcomeKind
    now: dt.datetime
    why: str
    action: str


async def close_physical_tasks(session: AsyncSession, closing: TaskClosing) -> None:
    """Mark the visit's open physical-visit tasks done, say why, and audit each."""
    visit, identity = closing.visit, closing.identity
    for task in await session.scalars(_open_physical_tasks(visit.id)):
        task.done_at, task.done_by_staff_id = closing.now, identity.staff_id
        task.reason = f"{task.reason}\n{closing.why}" if task.reason else closing.why
        audit.record(
            session,
            closing.action,
            actor=identity,
            subject=("citizen", visit.citizen_id),
            detail={"task": task.id, "visit": visit.id, "outcome_kind": closing.kind.value},
        )
