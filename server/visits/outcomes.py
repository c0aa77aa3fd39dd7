"""The one writer of outcomes: recorded after a call, edited briefly, then only amended.

Nurses record outcomes (the API), the missed-visit ladder records its own when it escalates, and
plan edits cancel and revive untouched visits: all of it goes through this module.

An outcome a person recorded is never deleted. Its author may correct it in place for
``outcome_edit_minutes`` (a slip of the finger right after the call); after that a change is a
new row whose ``amends_id`` points at the one it replaces, so the history stays readable. Only
the cancellation a plan edit wrote is removed again when the edit is undone (the edit itself
is in the audit log).

* **One outcome in force.** Unique indexes on ``outcome`` (see the model) make the history one
  chain. The checks below give the usual clear error; a double tap or a race with the ladder's
  escalation that slips past them fails on the index, and that is reported as the same error
  (``outcome_exists`` / ``already_amended``), with nothing written.
* **Status follows the outcome** (``status.after_outcome``): "Ikke svaret" leaves the visit
  open (``not_answered``), so the missed-visit ladder retries and escalates it; a refusal heard
  from the citizen is final.
* **Observations belong to their outcome** (``Observation.outcome_id``): correcting an outcome
  replaces exactly the observations recorded with it, never ones added separately. Rows from
  before that link existed have none and are left alone.
* **The medication checklist is kept with the outcome** (``Outcome.checklist``): every step the
  call view showed, confirmed or not, in the words the nurse saw. A correction or amendment
  without a checklist keeps the one recorded with the call.
* **A physical-visit task follows the outcome.** When a correction or amendment moves the
  outcome away from "converted to physical", the open physical-visit task of the visit is
  closed as cancelled: ``done_at`` is set, by the staff member who changed the outcome, and the
  task's reason says why, so the task stays in the history instead of being deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..errors import Conflict, Forbidden, InvalidInput
from ..identity import StaffIdentity
from ..models import InboxItem, Observation, Outcome, Visit, VisitType, utcnow
from ..translatable import N_
from ..vocabulary import ALERT_KINDS, InboxKind, ObservationCode, OutcomeKind
from . import inbox, lifecycle
from .continuity import qualified
from .status import Change, after_outcome


class ReasonRequired(InvalidInput):
    """Every outcome except "completed" needs a reason."""

    code = "reason_required"
    default_message = N_("Skriv en begrundelse, når besøget ikke blev gennemført.")


class OutcomeExists(Conflict):
    """The visit already has an outcome; edit or amend it instead."""

    code = "outcome_exists"
    default_message = N_("Besøget har allerede et resultat. Ret eller tilføj en rettelse i stedet.")


class EditWindowClosed(Forbidden):
    """Only the author may edit, and only shortly after recording; otherwise amend."""

    code = "edit_window_closed"
    default_message = N_("Resultatet kan ikke længere rettes. Registrér en rettelse i stedet.")


class NotQualifiedToDocument(Forbidden):
    """Only a qualified role may record that a nurse-only visit (medication, blood sugar) was
    carried out; anyone on the team may record that it was not."""

    code = "not_qualified"
    default_message = N_("Kun en sygeplejerske må registrere, at dette besøg er gennemført.")


# Outcomes that say the care itself was given.
CARE_GIVEN = frozenset({OutcomeKind.COMPLETED, OutcomeKind.PARTLY_COMPLETED})


async def check_may_document(
    session: AsyncSession, identity: StaffIdentity, visit: Visit, kind: OutcomeKind
) -> None:
    """Refuse "carried out" from a role the visit type does not admit (a carer, a planner)."""
    if kind not in CARE_GIVEN:
        return
    roles = await session.scalar(
        select(VisitType.qualified_roles).where(VisitType.id == visit.visit_type_id)
    )
    if not qualified(identity.role.value, roles or []):
        raise NotQualifiedToDocument(details={"qualified_roles": roles})


class AlreadyAmended(Conflict):
    """Amendments apply to the outcome in force, not to one already replaced."""

    code = "already_amended"
    default_message = N_("Resultatet er allerede rettet. Ret den nyeste udgave.")


# An earlier failed attempt that a later, successful call on the same visit supersedes.
SUPERSEDED_BY_A_NEW_ATTEMPT = frozenset({OutcomeKind.NOT_ANSWERED})
DONE_KINDS = frozenset({OutcomeKind.COMPLETED, OutcomeKind.PARTLY_COMPLETED})
PHYSICAL_TASK_DUE = dt.timedelta(hours=2)  # after the planned time, for "converted to physical"


@dataclass(frozen=True, slots=True)
class ObservationInput:
    """One coded observation (``value`` e.g. a blood-sugar reading)."""

    code: ObservationCode
    value: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ChecklistStep:
    """One guidance step shown during the call, and whether the nurse confirmed it."""

    step: int
    text: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """What the nurse taps and types after a call (``checklist`` None: none was shown)."""

    kind: OutcomeKind
    reason: str | None
    observations: tuple[ObservationInput, ...] = ()
    note: str | None = None
    checklist: tuple[ChecklistStep, ...] | None = None


class ChecklistInvalid(InvalidInput):
    """The checklist is not a short list of distinct, numbered steps with their text."""

    code = "invalid_checklist"
    default_message = N_("Tjeklisten skal have forskellige nummererede trin, hver med sin tekst.")


CHECKLIST_MAX_STEPS = 20
CHECKLIST_TEXT_MAX = 300


def checklist_of(steps: tuple[ChecklistStep, ...] | None) -> list[dict[str, Any]] | None:
    """The checklist as stored, by step number; refused unless bounded and well formed."""
    if steps is None:
        return None
    numbers = [s.step for s in steps]
    if not 0 < len(steps) <= CHECKLIST_MAX_STEPS or len(set(numbers)) != len(numbers):
        raise ChecklistInvalid()
    stored = []
    for s in sorted(steps, key=lambda s: s.step):
        text = " ".join(s.text.split())
        if not 1 <= s.step <= CHECKLIST_MAX_STEPS or not 0 < len(text) <= CHECKLIST_TEXT_MAX:
            raise ChecklistInvalid()
        stored.append({"step": s.step, "text": text, "confirmed": s.confirmed})
    return stored


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
) -> tuple[Outcome, InboxItem | None]:
    """The first outcome of a visit, its observations, its status and any physical-visit task."""
    reason = check_reason(data)
    await check_may_document(session, identity, visit, data.kind)
    checklist = checklist_of(data.checklist)
    current = await in_force(session, visit.id)
    if current is not None:
        if current.kind not in SUPERSEDED_BY_A_NEW_ATTEMPT:
            raise OutcomeExists()
        # "Not answered" at 08:02, answered on the retry at 08:10: the new call's outcome
        # replaces the failed attempt as an amendment, and both stay in the history.
        return await amend(session, identity, visit, current, data, now=now)
    outcome = Outcome(
        visit_id=visit.id,
        kind=data.kind,
        reason=reason,
        author_staff_id=identity.staff_id,
        checklist=checklist,
    )
    at = now or utcnow()
    await _insert(session, outcome, OutcomeExists)
    await _apply(session, identity, visit, outcome, data, at)
    await session.flush()
    # An escalation without an outcome of its own ("no call", "no outcome") asked for exactly
    # this documentation: once the visit is documented as done, its task and alert close.
    await close_follow_up(session, identity, visit, data.kind, at)
    return outcome, await _physical_task(session, identity, visit, data.kind, reason, at)


async def in_force(session: AsyncSession, visit_id: int) -> Outcome | None:
    """The visit's outcome in force: the newest version, the one no amendment replaces."""
    return (await in_force_of(session, [visit_id])).get(visit_id)


async def in_force_of(session: AsyncSession, visit_ids: Collection[int]) -> dict[int, Outcome]:
    """The outcome in force of each of the visits that has one."""
    if not visit_ids:
        return {}
    newer = aliased(Outcome)
    rows = await session.scalars(
        select(Outcome)
        .where(Outcome.visit_id.in_(visit_ids), ~exists().where(newer.amends_id == Outcome.id))
        .order_by(Outcome.id)
    )
    return {outcome.visit_id: outcome for outcome in rows}


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
) -> tuple[Outcome, InboxItem | None]:
    """Correct an outcome in place (author, within the window); observations are replaced."""
    if not may_edit(outcome, identity, edit_minutes, now):
        raise EditWindowClosed()
    reason = check_reason(data)
    await check_may_document(session, identity, visit, data.kind)
    checklist = checklist_of(data.checklist)
    previous = outcome.kind
    outcome.kind, outcome.reason = data.kind, reason
    if checklist is not None:
        outcome.checklist = checklist
    await session.execute(delete(Observation).where(Observation.outcome_id == outcome.id))
    await _apply(session, identity, visit, outcome, data, now)
    await session.flush()
    await _cancel_physical_task(session, identity, visit, previous, data.kind, now)
    await close_follow_up(session, identity, visit, data.kind, now)
    return outcome, await _physical_task(session, identity, visit, data.kind, reason, now)


async def amend(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    old: Outcome,
    data: OutcomeInput,
    *,
    now: dt.datetime | None = None,
) -> tuple[Outcome, InboxItem | None]:
    """A new outcome replacing ``old``; the old row stays as history."""
    reason = check_reason(data)
    await check_may_document(session, identity, visit, data.kind)
    checklist = checklist_of(data.checklist)
    newer = await session.scalar(select(Outcome.id).where(Outcome.amends_id == old.id))
    if newer is not None:
        raise AlreadyAmended()
    outcome = Outcome(
        visit_id=visit.id,
        kind=data.kind,
        reason=reason,
        author_staff_id=identity.staff_id,
        amends_id=old.id,
        checklist=checklist if checklist is not None else old.checklist,
    )
    at = now or utcnow()
    await _insert(session, outcome, AlreadyAmended)
    await _apply(session, identity, visit, outcome, data, at)
    await session.flush()
    await _cancel_physical_task(session, identity, visit, old.kind, data.kind, at)
    await close_follow_up(session, identity, visit, data.kind, at)
    return outcome, await _physical_task(session, identity, visit, data.kind, reason, at)


async def _apply(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    outcome: Outcome,
    data: OutcomeInput,
    now: dt.datetime,
) -> None:
    await lifecycle.move(session, visit, after_outcome(data.kind, visit.planned_at, now))
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
    now: dt.datetime,
) -> InboxItem | None:
    """ "Converted to physical" gives the team one open physical-visit task for the visit."""
    if kind is not OutcomeKind.CONVERTED_TO_PHYSICAL:
        return None
    due = visit.planned_at + PHYSICAL_TASK_DUE
    return await inbox.open_physical_task(
        session, visit, reason, due, now, created_by=identity.staff_id
    )


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
    closing = inbox.VisitClosing(identity, visit, after, now, why, "task.cancelled")
    await inbox.close_for_visit(session, closing, {InboxKind.PHYSICAL_VISIT})


async def close_follow_up(
    session: AsyncSession,
    identity: StaffIdentity,
    visit: Visit,
    kind: OutcomeKind,
    now: dt.datetime,
) -> None:
    """The visit did happen after all: close its open physical-visit task (the escalation's)
    and its open alerts (the escalation's, and any warning about the tablet before it).
    Any outcome answers the "ring again?" question of a call declined on the tablet."""
    if kind not in DONE_KINDS:
        why = "Lukket: udfaldet er registreret."
        closing = inbox.VisitClosing(identity, visit, kind, now, why, "task.closed")
        await inbox.close_for_visit(session, closing, {InboxKind.DECLINED_CALL})
        return
    why = "Lukket: besøget blev gennemført alligevel."
    closing = inbox.VisitClosing(identity, visit, kind, now, why, "task.closed")
    await inbox.close_for_visit(session, closing, inbox.VISIT_FOLLOW_UPS | ALERT_KINDS)


async def record_for_ladder(
    session: AsyncSession, visit: Visit, kind: OutcomeKind, why: str, now: dt.datetime
) -> None:
    """The ladder's outcome of an escalated visit, unless it has one (a nurse's stands).

    The check covers the usual case; the savepoint covers a nurse recording in the same instant
    on PostgreSQL, where the unique index on first outcomes rejects the second row.
    """
    existing = await session.scalar(select(Outcome.id).where(Outcome.visit_id == visit.id))
    if existing is not None:
        return
    try:
        async with session.begin_nested():
            session.add(Outcome(visit_id=visit.id, kind=kind, reason=why, recorded_at=now))
    except IntegrityError:
        return


async def cancel_planned(
    session: AsyncSession, visit_ids: Sequence[int], reason: str, now: dt.datetime
) -> int:
    """Cancel planned visits with a recorded outcome; visits no longer planned are left alone."""
    cancelled = await lifecycle.move_ids(session, visit_ids, Change.PLAN_CANCEL)
    session.add_all(
        Outcome(visit_id=visit_id, kind=OutcomeKind.CANCELLED, reason=reason, recorded_at=now)
        for visit_id in cancelled
    )
    await session.flush()
    return len(cancelled)


async def plan_cancellations(
    session: AsyncSession, visit_ids: Collection[int], reason: str
) -> set[int]:
    """Which of these visits only a plan edit cancelled (its own outcome, no author)."""
    if not visit_ids:
        return set()
    rows = await session.execute(
        select(Outcome.visit_id, Outcome.reason).where(
            Outcome.visit_id.in_(visit_ids),
            Outcome.kind == OutcomeKind.CANCELLED,
            Outcome.author_staff_id.is_(None),
        )
    )
    # Compared here, not in SQL: a reason is sealed at rest, each time with a new nonce.
    return {visit_id for visit_id, stored in rows if stored == reason}


async def undo_plan_cancellation(session: AsyncSession, visit_id: int, **values: Any) -> bool:
    """Plan a visit again that a plan edit cancelled, removing that edit's outcome."""
    if not await lifecycle.move_id(session, visit_id, Change.PLAN_REVIVE, **values):
        return False
    await session.execute(delete(Outcome).where(Outcome.visit_id == visit_id))
    return True
