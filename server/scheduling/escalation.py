"""Escalating a visit that did not happen: mark it missed, alert the team, task, notify relatives.

One function does it for both the missed-visit ladder and the watchdog, so a missed visit looks
the same whichever noticed it. The status change is conditional, so a visit that was documented
meanwhile (by a nurse, or another process) is never escalated.

The organisation's retry-ladder settings choose the steps after that: `alert_team` (a live
alert to the team), `create_physical_task` (a physical-visit task with a deadline) and
`notify_relative` (a notice to each consenting relative; only when the citizen did not answer or
declined, never for `no_call` or `no_outcome`). Whatever they say, the visit is marked missed,
the ladder's outcome (not answered / declined) is recorded unless the visit already has one (a
nurse's hand-recorded "not answered" stays the outcome in force), and a `visit.escalated`
audit event names the reason and the steps taken, so an escalation with every step turned off
still leaves a trace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..models import (
    Alert,
    AlertKind,
    CareTask,
    Citizen,
    Consent,
    ConsentKind,
    Notification,
    Outcome,
    OutcomeKind,
    Relative,
    TaskKind,
    Visit,
    VisitStatus,
    VisitType,
)
from ..orgsettings import RetryLadder
from .recurrence import LOCAL_ZONE

FINAL_STATUSES = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED)

# Only a citizen who did not pick up or declined is a reason to tell relatives: with no call
# (staff never rang) or no outcome (the call happened, the documentation is missing) the citizen
# did nothing wrong, and a notice "did not take the visit" would be false and alarming.
RELATIVE_REASONS = frozenset({"not_answered", "declined"})

REASONS_DA = {
    "not_answered": "borgeren svarede ikke",
    "declined": "borgeren afviste opkaldet",
    "no_call": "der blev ikke ringet i tidsvinduet",
    "no_outcome": "der er ikke registreret et udfald",
}


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """An alert written in this transaction, to push to the team's consoles after commit."""

    alert_id: int
    team_id: int
    citizen_id: int | None
    visit_id: int | None
    kind: str
    message: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Escalated:
    """A visit this transaction escalated; `alert` is None when the organisation wants none."""

    alert: AlertRaised | None


async def escalate(
    session: AsyncSession,
    visit: Visit,
    reason: str,
    now: dt.datetime,
    *,
    task_due: dt.timedelta,
    steps: RetryLadder,
    outcome: OutcomeKind | None = None,
) -> Escalated | None:
    """Escalate `visit` (see the module rules); None when it was no longer open."""
    result = await session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.status.not_in(FINAL_STATUSES))
        .values(status=VisitStatus.MISSED, next_attempt_at=None)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    visit.status, visit.next_attempt_at = VisitStatus.MISSED, None
    citizen = await session.get_one(Citizen, visit.citizen_id)
    vtype = await session.get_one(VisitType, visit.visit_type_id)
    why = REASONS_DA.get(reason, reason)
    if outcome is not None:
        await _record_outcome(session, visit, outcome, why, now)
    message = team_message(reason, citizen, vtype, visit)
    if steps.create_physical_task:
        session.add(_task(citizen, visit, message, now + task_due, now))
    notified = 0
    if steps.notify_relative and reason in RELATIVE_REASONS:
        visit_follows = steps.create_physical_task
        notified = await _notify_relatives(session, citizen, visit, vtype, now, visit_follows)
    _audit(session, citizen, visit, reason, steps, notified, now)
    if not steps.alert_team:
        return Escalated(None)
    return Escalated(
        await raise_alert(session, citizen, visit, AlertKind.MISSED_VISIT, message, now)
    )


def team_message(reason: str, citizen: Citizen, vtype: VisitType, visit: Visit) -> str:
    """The alert and task text: what went wrong, in words that fit the reason."""
    local = visit.planned_at.astimezone(LOCAL_ZONE)
    what = f"{vtype.name_da.lower()} kl. {local:%H:%M}"
    if reason == "no_call":
        return (
            f"Ingen har ringet til {citizen.name} om {what} i tidsvinduet. "
            "Ring nu, eller planlæg et fysisk besøg."
        )
    if reason == "no_outcome":
        return (
            f"Besøget mangler dokumentation: {citizen.name}, {what}. Opkaldet blev besvaret, "
            "men der er ikke registreret et udfald. Registrér udfaldet, eller planlæg et "
            "fysisk besøg, hvis besøget ikke blev gennemført."
        )
    why = REASONS_DA.get(reason, reason)
    return f"{citizen.name}: {what} blev ikke til noget ({why}). Planlæg et fysisk besøg."


async def _record_outcome(
    session: AsyncSession, visit: Visit, kind: OutcomeKind, why: str, now: dt.datetime
) -> None:
    """The ladder's outcome, unless the visit already has one in force (a nurse's stands).

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


def _task(
    citizen: Citizen, visit: Visit, message: str, due: dt.datetime, now: dt.datetime
) -> CareTask:
    """The physical-visit task that replaces the missed visit."""
    return CareTask(
        organisation_id=citizen.organisation_id,
        team_id=visit.team_id,
        citizen_id=citizen.id,
        visit_id=visit.id,
        kind=TaskKind.PHYSICAL_VISIT,
        reason=message,
        due_at=due,
        created_at=now,
    )


def _audit(
    session: AsyncSession,
    citizen: Citizen,
    visit: Visit,
    reason: str,
    steps: RetryLadder,
    notified: int,
    now: dt.datetime,
) -> None:
    """The escalation in the audit log, with the steps the organisation's settings chose."""
    event = audit.record(
        session,
        "visit.escalated",
        actor="system",
        subject=("visit", visit.id),
        detail={
            "reason": reason,
            "alert_team": steps.alert_team,
            "physical_task": steps.create_physical_task,
            "relatives_notified": notified,
        },
    )
    event.organisation_id, event.at = citizen.organisation_id, now


async def raise_alert(
    session: AsyncSession,
    citizen: Citizen,
    visit: Visit,
    kind: AlertKind,
    message: str,
    now: dt.datetime,
) -> AlertRaised:
    """Store an alert for the visit's team and describe it for the live push."""
    alert = Alert(
        organisation_id=citizen.organisation_id,
        team_id=visit.team_id,
        citizen_id=citizen.id,
        visit_id=visit.id,
        kind=kind,
        message=message[:500],
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    return AlertRaised(
        alert.id, visit.team_id, citizen.id, visit.id, kind.value, alert.message, now
    )


async def _notify_relatives(
    session: AsyncSession,
    citizen: Citizen,
    visit: Visit,
    vtype: VisitType,
    now: dt.datetime,
    visit_follows: bool,
) -> int:
    """Queue a notice for each relative who may be notified, if the citizen consents; how many."""
    consent = await session.scalar(
        select(Consent.id).where(
            Consent.citizen_id == citizen.id,
            Consent.kind == ConsentKind.NOTIFY_RELATIVE,
            Consent.withdrawn_at.is_(None),
        )
    )
    if consent is None:
        return 0
    relatives = await session.scalars(
        select(Relative).where(
            Relative.citizen_id == citizen.id, Relative.may_be_notified.is_(True)
        )
    )
    local = visit.planned_at.astimezone(LOCAL_ZONE)
    first_name = citizen.preferred_name or citizen.name.split()[0]
    # Promise a visit only when the escalation creates the task for one.
    follow_up = "følger op med et besøg" if visit_follows else "følger op"
    count = 0
    for relative in relatives:
        count += 1
        session.add(
            Notification(
                citizen_id=citizen.id,
                relative_id=relative.id,
                visit_id=visit.id,
                subject=f"Skærmbesøg hos {first_name} blev ikke gennemført",
                body=(
                    f"Kære {relative.name}. {first_name} tog ikke imod skærmbesøget "
                    f"({vtype.name_da.lower()}) {local:%d.%m. kl. %H:%M}. Hjemmeplejen "
                    f"{follow_up}. Du behøver ikke gøre noget."
                ),
                created_at=now,
            )
        )
    return count
