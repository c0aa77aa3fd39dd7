"""Escalating a visit that did not happen: mark it missed, alert the team, task, notify relatives.

One function does it for both the missed-visit ladder and the watchdog, so a missed visit looks
the same whichever noticed it. The status change is conditional, so a visit that was documented
meanwhile (by a nurse, or another process) is never escalated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
from .recurrence import LOCAL_ZONE

FINAL_STATUSES = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED)

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


async def escalate(
    session: AsyncSession,
    visit: Visit,
    reason: str,
    now: dt.datetime,
    *,
    task_due: dt.timedelta,
    outcome: OutcomeKind | None = None,
) -> AlertRaised | None:
    """Escalate `visit` (see the module rules); None when it was no longer open."""
    result = await session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.status.not_in(FINAL_STATUSES))
        .values(status=VisitStatus.MISSED, next_attempt_at=None)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    citizen = await session.get_one(Citizen, visit.citizen_id)
    vtype = await session.get_one(VisitType, visit.visit_type_id)
    why = REASONS_DA.get(reason, reason)
    if outcome is not None:
        session.add(Outcome(visit_id=visit.id, kind=outcome, reason=why, recorded_at=now))
    local = visit.planned_at.astimezone(LOCAL_ZONE)
    message = (
        f"{citizen.name}: {vtype.name_da.lower()} kl. {local:%H:%M} blev ikke til noget "
        f"({why}). Planlæg et fysisk besøg."
    )
    session.add(
        CareTask(
            organisation_id=citizen.organisation_id,
            team_id=visit.team_id,
            citizen_id=citizen.id,
            visit_id=visit.id,
            kind=TaskKind.PHYSICAL_VISIT,
            reason=message,
            due_at=now + task_due,
            created_at=now,
        )
    )
    await _notify_relatives(session, citizen, visit, vtype, now)
    return await raise_alert(session, citizen, visit, AlertKind.MISSED_VISIT, message, now)


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
    session: AsyncSession, citizen: Citizen, visit: Visit, vtype: VisitType, now: dt.datetime
) -> None:
    """Queue a notice for each relative who may be notified, if the citizen consents."""
    consent = await session.scalar(
        select(Consent.id).where(
            Consent.citizen_id == citizen.id,
            Consent.kind == ConsentKind.NOTIFY_RELATIVE,
            Consent.withdrawn_at.is_(None),
        )
    )
    if consent is None:
        return
    relatives = await session.scalars(
        select(Relative).where(
            Relative.citizen_id == citizen.id, Relative.may_be_notified.is_(True)
        )
    )
    local = visit.planned_at.astimezone(LOCAL_ZONE)
    first_name = citizen.preferred_name or citizen.name.split()[0]
    for relative in relatives:
        session.add(
            Notification(
                citizen_id=citizen.id,
                relative_id=relative.id,
                visit_id=visit.id,
                subject=f"Skærmbesøg hos {first_name} blev ikke gennemført",
                body=(
                    f"Kære {relative.name}. {first_name} tog ikke imod skærmbesøget "
                    f"({vtype.name_da.lower()}) {local:%d.%m. kl. %H:%M}. Hjemmeplejen "
                    "følger op med et besøg. Du behøver ikke gøre noget."
                ),
                created_at=now,
            )
        )
