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
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..models import Citizen, Consent, Notification, Relative, Visit, VisitType
from ..orgsettings import RetryLadder
from ..visits import inbox, lifecycle, outcomes
from ..visits.inbox import AlertRaised
from ..visits.status import Change
from ..vocabulary import ConsentKind, InboxKind
from .ladder import Escalate, Tried

# Only a citizen who did not pick up or declined is a reason to tell relatives: with no call
# (staff never rang) or no outcome (the call happened, the documentation is missing) the citizen
# did nothing wrong, and a notice "did not take the visit" would be false and alarming.
RELATIVE_REASONS = frozenset({"not_answered", "declined"})

REASONS_DA = {
    "not_answered": "borgeren svarede ikke",
    "declined": "borgeren afviste opkaldet",
    "no_call": "der blev ikke ringet i tidsvinduet",
    "no_outcome": "der er ikke registreret et udfald",
    "technical_failure": "opkaldene nåede ikke frem til tabletten",
}
# What each attempt that never reached the citizen ran into, for "what was tried".
TRIED_DA = {
    "offline": "tabletten var ikke forbundet",
    "busy": "borgeren var allerede i et opkald",
    "server_lost": "forbindelsen til serveren blev afbrudt",
}


@dataclass(frozen=True, slots=True)
class Escalated:
    """A visit this transaction escalated; `alert` is None when the organisation wants none."""

    alert: AlertRaised | None


async def escalate(
    session: AsyncSession,
    visit: Visit,
    decision: Escalate,
    now: dt.datetime,
    *,
    steps: RetryLadder,
    zone: ZoneInfo,
    task_due: dt.timedelta,
) -> Escalated | None:
    """Escalate `visit` (see the module rules); None when it was no longer open."""
    if not await lifecycle.move(session, visit, Change.ESCALATE, next_attempt_at=None):
        return None
    citizen = await session.get_one(Citizen, visit.citizen_id)
    vtype = await session.get_one(VisitType, visit.visit_type_id)
    reason = decision.reason
    if decision.outcome is not None:
        why = REASONS_DA.get(reason, reason)
        await outcomes.record_for_ladder(session, visit, decision.outcome, why, now)
    message = team_message(reason, citizen, vtype, visit, zone, decision.tried)
    await _close_questions(session, visit, now)
    item = None
    if steps.alert_team or steps.create_physical_task:
        # One item: the team is told, and asked for a physical visit by a deadline if wanted.
        due = now + task_due if steps.create_physical_task else None
        new = inbox.NewItem(citizen, InboxKind.MISSED_VISIT, message, visit, due)
        item = await inbox.add(session, new, now)
    told: list[str] = []
    if steps.notify_relative and reason in RELATIVE_REASONS:
        notice = _Notice(citizen, visit, vtype, now, zone, visit_follows=steps.create_physical_task)
        told = await _notify_relatives(session, notice)
        if told:
            text = f"{citizen.name}: pårørende har fået besked om det missede besøg: "
            new = inbox.NewItem(citizen, InboxKind.RELATIVE_NOTICE, text + ", ".join(told), visit)
            await inbox.add(session, new, now)
    _audit(session, citizen, visit, reason, steps, len(told), now)
    alert = inbox.raised(item) if item is not None and steps.alert_team else None
    return Escalated(alert)


def team_message(
    reason: str,
    citizen: Citizen,
    vtype: VisitType,
    visit: Visit,
    zone: ZoneInfo,
    tried: Tried | None = None,
) -> str:
    """The alert and task text: what went wrong, in words that fit the reason."""
    what = _what(vtype, visit, zone)
    if reason == "technical_failure" and tried is not None:
        return (
            f"Teknisk fejl: {citizen.name} blev ikke nået om {what}. {tried_text(tried, zone)} "
            "Tjek tabletten, ring på telefon, eller planlæg et fysisk besøg."
        )
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


def tried_text(tried: Tried, zone: ZoneInfo) -> str:
    """What was tried, e.g. "18 opkald nåede ikke frem (17 × tabletten var ikke forbundet,
    1 × forbindelsen til serveren blev afbrudt), første kl. 09:02, sidste kl. 09:40." """
    parts = ", ".join(f"{n} × {TRIED_DA.get(reason, reason)}" for reason, n in tried.reasons)
    first, last = tried.first.astimezone(zone), tried.last.astimezone(zone)
    when = (
        f"kl. {first:%H:%M}"
        if tried.count == 1
        else f"første kl. {first:%H:%M}, sidste kl. {last:%H:%M}"
    )
    return f"{tried.count} opkald nåede ikke frem ({parts}), {when}."


def _what(vtype: VisitType, visit: Visit, zone: ZoneInfo) -> str:
    local = visit.planned_at.astimezone(zone)
    return f"{vtype.name_da.lower()} kl. {local:%H:%M}"


async def ask_team(
    session: AsyncSession, visit: Visit, now: dt.datetime, zone: ZoneInfo
) -> AlertRaised | None:
    """The citizen declined on the tablet and the organisation lets the nurse decide: ask the
    visit's team (one open question per visit); the alert when the question is new."""
    citizen = await session.get_one(Citizen, visit.citizen_id)
    vtype = await session.get_one(VisitType, visit.visit_type_id)
    message = (
        f"{citizen.name} afviste opkaldet om {_what(vtype, visit, zone)} på tabletten. "
        "Ring igen, eller registrér udfaldet."
    )
    new = inbox.NewItem(citizen, InboxKind.DECLINED_CALL, message, visit)
    item, created = await inbox.add_once(session, new, now)
    return inbox.raised(item) if created else None


async def _close_questions(session: AsyncSession, visit: Visit, now: dt.datetime) -> None:
    """An escalation answers the "ring again?" question of a declined call."""
    why = "Lukket: besøget er eskaleret."
    closing = inbox.VisitClosing(None, visit, None, now, why, "task.closed")
    await inbox.close_for_visit(session, closing, {InboxKind.DECLINED_CALL})


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


@dataclass(frozen=True, slots=True)
class _Notice:
    """What a relative's notice about an escalated visit says."""

    citizen: Citizen
    visit: Visit
    vtype: VisitType
    now: dt.datetime
    zone: ZoneInfo
    visit_follows: bool  # promise a visit only when the escalation creates the task for one


async def _notify_relatives(session: AsyncSession, notice: _Notice) -> list[str]:
    """Queue a notice for each relative the consent register lets us notify; to whom
    (e.g. "Ida (datter)").

    A relative is told only with an active notify consent of their own (the register's
    relative consent) and the permission it caches on them, and never once removed. A
    citizen-wide notify consent (no relative named) from before the register still covers the
    relatives marked as may be notified.
    """
    citizen = notice.citizen
    notify = (
        select(Consent.id)
        .where(
            Consent.citizen_id == citizen.id,
            Consent.in_force(ConsentKind.NOTIFY_RELATIVE),
        )
        .where(or_(Consent.relative_id == Relative.id, Consent.relative_id.is_(None)))
    )
    relatives = await session.scalars(
        select(Relative)
        .where(
            Relative.citizen_id == citizen.id,
            Relative.may_be_notified.is_(True),
            Relative.removed_at.is_(None),
            notify.exists(),
        )
        .order_by(Relative.id)
    )
    local = notice.visit.planned_at.astimezone(notice.zone)
    first_name = citizen.preferred_name or citizen.name.split()[0]
    follow_up = "følger op med et besøg" if notice.visit_follows else "følger op"
    told = []
    for relative in relatives:
        told.append(f"{relative.name} ({relative.relation})")
        session.add(
            Notification(
                citizen_id=citizen.id,
                relative_id=relative.id,
                visit_id=notice.visit.id,
                subject=f"Skærmbesøg hos {first_name} blev ikke gennemført",
                body=(
                    f"Kære {relative.name}. {first_name} tog ikke imod skærmbesøget "
                    f"({notice.vtype.name_da.lower()}) {local:%d.%m. kl. %H:%M}. Hjemmeplejen "
                    f"{follow_up}. Du behøver ikke gøre noget."
                ),
                created_at=notice.now,
            )
        )
    return told
