"""Recording a visit's outcome and observations; editing briefly, then only by amendment.

An outcome row is never deleted. Its author may correct it in place for
``outcome_edit_minutes`` (a slip of the finger right after the call); after that a change is a
new row whose ``amends_id`` points at the one it replaces, so the history stays readable.

* **One outcome in force.** Unique indexes on ``outcome`` (see the model) make the history one
  chain. The checks below give the usual clear error; a double tap or a race with the ladder's
  escalation that slips past them fails on the index, and that is reported as the same error
  (``outcome_exists`` / ``already_amended``), with nothing written.
* **Failures feed the ladder.** "Ikke svaret" and "Borgeren afviste" leave the visit open
  (``not_answered``), so the missed-visit ladder retries and escalates it (see ``ladder``).
* **Observations belong to their outcome** (``Observation.outcome_id``): correcting an outcome
  replaces exactly the observations recorded with it, never ones added separately. Rows from
  before that link existed have none and are left alone.
* **A physical-visit task follows the outcome.** When a correction or amendment moves the
  outcome away from "converted to physical", the open physical-visit task of the visit is
  closed as cancelled: ``done_at`` is set, by the staff member who changed the outcome, and the
  task's reason says why, so the task stays in the history instead of being deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from .. import audit
from ..auth.identity import StaffIdentity
from ..errors import Conflict, Forbidden, InvalidInput
from ..models import (
    Alert,
    CareTask,
    Observation,
    ObservationCode,
    Outcome,
    OutcomeKind,
    TaskKind,
    Visit,
    VisitStatus,
)
from ..models.base import utcnow


class ReasonRequired(InvalidInput):
    """Every outcome except "completed" needs a reason."""

    code = "reason_required"
    default_message = "Write a reason when the visit was not completed."


class OutcomeExists(Conflict):
    """The visit already has an outcome; edit or amend it instead."""

    code = "outcome_exists"
    default_message = "This visit already has an outcome. Edit or amend it instead."


class EditWindowClosed(Forbidden):
    """Only the author may edit, and only shortly after recording; otherwise amend."""

    code = "edit_window_closed"
    default_message = "The outcome can no longer be edited. Record an amendment instead."


class AlreadyAmended(Conflict):
    """Amendments apply to the outcome in force, not to one already replaced."""

    code = "already_amended"
    default_message = "This outcome has already been amended. Amend the newest version."


STATUS_AFTER: dict[OutcomeKind, VisitStatus] = {
    # Not final: the ladder retries and escalates "not answered" (see the module notes). A
    # refusal the nurse heard from the citizen is final: her own voice is not overruled by
    # ringing again or by telling her relatives.
    OutcomeKind.NOT_ANSWERED: VisitStatus.NOT_ANSWERED,
    OutcomeKind.CANCELLED: VisitStatus.CANCELLED,
}
# An earlier failed attempt that a later, successful call on the same visit supersedes.
SUPERSEDED_BY_A_NEW_ATTEMPT = frozenset({OutcomeKind.NOT_ANSWERED})
DONE_KINDS = frozenset({OutcomeKind.COMPLETED, OutcomeKind.PARTLY_COMPLETED})
# A "not answered" recorded later than this after the planned time closes the visit as missed
# instead of reopening it for retries (the ladder looks back two days at most).
REOPEN_WITHIN = dt.timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class ObservationInput:
    """One coded observation (``value`` e.g. a blood-sugar reading)."""

    code: ObservationCode
    value: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """What the nurse taps and types after a call."""

    kind: OutcomeKind
    reason: str | None
    observations: tuple[ObservationInput, ...] = ()
    note: str | None = None


def check_reason(data: OutcomeInput) -> str | None:
    """The trimmed reason; required unless the visit was completed."""
    reason = (data.reason or "").strip() or None
    if data.kind is not OutcomeKind.COMPLETED and reason is None:
        raise ReasonRequired()
    return reason


def edit_deadline(outcome: Outcome, edit_minutes: int) -> dt.datetime:
    """Until when the author may still edit ``outcome`` in place."""
    return outcome.recorded_at + dt.timedelta(minutes=edit_minutes)


def may_edit(
    outcome: Outcome, identity: StaffIdentity, edit_minutes: int, now: dt.datetime
) -> bool:
    """The author, within the edit window."""
    return outcome.author_staff_id == identity.staff_id and now < edit_deadline(
        outcome, edit_minutes
    )


async def record(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    data: OutcomeInput,
    *,
    now: dt.datetime | None = None,
) -> tuple[Outcome, CareTask | None]:
    """The first outcome of a visit, its observations, its status and any physical-visit task."""
    reason = check_reason(data)
    current = await outcome_in_force(session, visit.id)
    if current is not None:
        if current.kind not in SUPERSEDED_BY_A_NEW_ATTEMPT:
            raise OutcomeExists()
        # "Not answered" at 08:02, answered on the retry at 08:10: the new call's outcome
        # replaces the failed attempt as an amendment, and both stay in the history.
        return await amend(session, identity, visit, current, data, now=now)
    outcome = Outcome(
        visit_id=visit.id, kind=data.kind, reason=reason, author_staff_id=identity.staff_id
    )
    await _insert(session, outcome, OutcomeExists)
    await _apply(session, identity, visit, outcome, data, now or utcnow())
    await session.flush()
    return outcome, await _physical_task(session, identity, visit, data.kind, reason)


async def outcome_in_force(session: AsyncSession, visit_id: int) -> Outcome | None:
    """The newest version of the visit's outcome (the one no amendment replaces), if any."""
    newer = aliased(Outcome)
    return await session.scalar(
        select(Outcome).where(
            Outcome.visit_id == visit_id,
            ~exists().where(newer.amends_id == Outcome.id),
        )
    )


async def _insert(session: AsyncSession, outcome: Outcome, error: type[Conflict]) -> None:
    """Write ``outcome`` now, so a second outcome in force fails here, as ``error``."""
    session.add(outcome)
    try:
        await session.flush()
    except IntegrityError:
        raise error() from None


async def edit(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    outcome: Outcome,
    data: OutcomeInput,
    *,
    edit_minutes: int,
    now: dt.datetime,
) -> tuple[Outcome, CareTask | None]:
    """Correct an outcome in place (author, within the window); observations are replaced."""
    if not may_edit(outcome, identity, edit_minutes, now):
        raise EditWindowClosed()
    reason = check_reason(data)
    previous = outcome.kind
    outcome.kind, outcome.reason = data.kind, reason
    await session.execute(delete(Observation).where(Observation.outcome_id == outcome.id))
    await _apply(session, identity, visit, outcome, data, now)
    await session.flush()
    await _cancel_physical_task(session, identity, visit, previous, data.kind, now)
    await close_follow_up(session, identity, visit, data.kind, now)
    return outcome, await _physical_task(session, identity, visit, data.kind, reason)


async def amend(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    old: Outcome,
    data: OutcomeInput,
    *,
    now: dt.datetime | None = None,
) -> tuple[Outcome, CareTask | None]:
    """A new outcome replacing ``old``; the old row stays as history."""
    reason = check_reason(data)
    newer = await session.scalar(select(Outcome.id).where(Outcome.amends_id == old.id))
    if newer is not None:
        raise AlreadyAmended()
    outcome = Outcome(
        visit_id=visit.id,
        kind=data.kind,
        reason=reason,
        author_staff_id=identity.staff_id,
        amends_id=old.id,
    )
    at = now or utcnow()
    await _insert(session, outcome, AlreadyAmended)
    await _apply(session, identity, visit, outcome, data, at)
    await session.flush()
    await _cancel_physical_task(session, identity, visit, old.kind, data.kind, at)
    await close_follow_up(session, identity, visit, data.kind, at)
    return outcome, await _physical_task(session, identity, visit, data.kind, reason)


async def _apply(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    outcome: Outcome,
    data: OutcomeInput,
    now: dt.datetime,
) -> None:
    status = STATUS_AFTER.get(data.kind, VisitStatus.DONE)
    if status is VisitStatus.NOT_ANSWERED and now > visit.planned_at + REOPEN_WITHIN:
        # A correction of an old visit: ringing or escalating days later helps nobody.
        status = VisitStatus.MISSED
    # A visit the ladder already escalated stays missed: reopening it would escalate it twice.
    if not (visit.status is VisitStatus.MISSED and status is VisitStatus.NOT_ANSWERED):
        visit.status = status
    for obs in data.observations:
        session.add(_observation(identity, visit, outcome, obs.code, obs.value, obs.note))
    note = (data.note or "").strip()
    if note:
        session.add(_observation(identity, visit, outcome, ObservationCode.OTHER, None, note))


def _observation(
    identity: StaffIdentity,
    visit: Visit,
    outcome: Outcome,
    code: ObservationCode,
    value: str | None,
    note: str | None,
) -> Observation:
    return Observation(
        outcome_id=outcome.id,
        visit_id=visit.id,
        citizen_id=visit.citizen_id,
        code=code,
        value=(value or "").strip() or None,
        note=(note or "").strip() or None,
        author_staff_id=identity.staff_id,
    )


async def _physical_task(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    kind: OutcomeKind,
    reason: str | None,
) -> CareTask | None:
    """ "Converted to physical" gives the team one open physical-visit task for the visit."""
    if kind is not OutcomeKind.CONVERTED_TO_PHYSICAL:
        return None
    open_task = await session.scalar(
        select(CareTask).where(
            CareTask.visit_id == visit.id,
            CareTask.kind == TaskKind.PHYSICAL_VISIT,
            CareTask.done_at.is_(None),
        )
    )
    if open_task is not None:
        return open_task
    task = CareTask(
        organisation_id=identity.organisation_id,
        team_id=visit.team_id,
        citizen_id=visit.citizen_id,
        visit_id=visit.id,
        kind=TaskKind.PHYSICAL_VISIT,
        reason=reason,
        due_at=visit.planned_at + dt.timedelta(hours=2),
        created_by_staff_id=identity.staff_id,
    )
    session.add(task)
    await session.flush()
    return task


async def _cancel_physical_task(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    before: OutcomeKind,
    after: OutcomeKind,
    now: dt.datetime,
) -> None:
    """Moving away from "converted to physical" closes the visit's open physical-visit task."""
    if before is not OutcomeKind.CONVERTED_TO_PHYSICAL or after is before:
        return
    why = "Annulleret: udfaldet blev ændret, så det fysiske besøg er ikke længere nødvendigt."
    closing = TaskClosing(identity, visit, after, now, why, "task.cancelled")
    await _close_physical_tasks(session, closing)


async def close_follow_up(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    kind: OutcomeKind,
    now: dt.datetime,
) -> None:
    """The visit did happen after all: close the escalation's physical-visit task and alert."""
    if kind not in DONE_KINDS:
        return
    why = "Lukket: besøget blev gennemført alligevel."
    await _close_physical_tasks(
        session, TaskClosing(identity, visit, kind, now, why, "task.closed")
    )
    await session.execute(
        update(Alert)
        .where(Alert.visit_id == visit.id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_staff_id=identity.staff_id)
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


async def _close_physical_tasks(session: AsyncSession, closing: TaskClosing) -> None:
    visit, identity = closing.visit, closing.identity
    tasks = await session.scalars(
        select(CareTask).where(
            CareTask.visit_id == visit.id,
            CareTask.kind == TaskKind.PHYSICAL_VISIT,
            CareTask.done_at.is_(None),
        )
    )
    for task in tasks:
        task.done_at, task.done_by_staff_id = closing.now, identity.staff_id
        task.reason = f"{task.reason}\n{closing.why}" if task.reason else closing.why
        audit.record(
            session,
            closing.action,
            actor=identity,
            subject=("citizen", visit.citizen_id),
            detail={"task": task.id, "visit": visit.id, "outcome_kind": closing.kind.value},
        )
