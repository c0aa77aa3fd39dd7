"""Running the missed-visit ladder: read the open visits, ask ``ladder.decide``, carry it out.

One tick, one transaction (see ``jobs``). Retries are written through the visit lifecycle;
escalations through ``escalation``. The organisation's settings are read once per tick.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Call, Visit, VisitType
from ..orgsettings import DEFAULTS, load_many
from ..visits import lifecycle
from ..visits.inbox import AlertRaised
from ..visits.outcomes import in_force_of
from ..visits.status import FINAL, Change
from ..visits.updates import VisitUpdate, update_of
from ..vocabulary import VisitStatus
from .escalation import ask_team, escalate
from .ladder import (
    Ask,
    CallRecord,
    Escalate,
    LadderPolicy,
    RecordedOutcome,
    Retry,
    VisitState,
    decide,
    effective_rule,
)

LOOKBACK = dt.timedelta(days=2)  # open visits older than this were escalated long ago
LOOKAHEAD = dt.timedelta(hours=6)


@dataclass(slots=True)
class LadderReport:
    """What one tick of the ladder did, to push to the teams after commit: the alerts raised,
    and every visit given a retry or escalated, so open consoles see it move."""

    alerts: list[AlertRaised]
    updated: list[VisitUpdate]

    @property
    def retries(self) -> int:
        """How many visits were given a retry."""
        return sum(u.status is VisitStatus.NOT_ANSWERED for u in self.updated)


async def run_ladder(
    session: AsyncSession, now: dt.datetime, policy: LadderPolicy, zone: ZoneInfo
) -> LadderReport:
    """One tick: count failed attempts, then escalate what is overdue."""
    report = LadderReport([], [])
    rows = (
        await session.execute(
            select(Visit, VisitType)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .where(
                Visit.status.not_in(FINAL),
                Visit.planned_at >= now - LOOKBACK,
                Visit.planned_at <= now + LOOKAHEAD,
            )
            .order_by(Visit.planned_at, Visit.id)
        )
    ).all()
    ids = [v.id for v, _ in rows]
    outcomes = await in_force_of(session, ids)
    calls = await _calls(session, ids)
    settings = await load_many(session, {vtype.organisation_id for _, vtype in rows})
    for visit, vtype in rows:
        org = settings.get(vtype.organisation_id, DEFAULTS)
        rule = effective_rule(org.retry_ladder, vtype, org.outcome_edit_minutes, org.tablet_refusal)
        found = outcomes.get(visit.id)
        recorded = RecordedOutcome(found.kind, found.recorded_at) if found else None
        action = decide(_state(visit), calls.get(visit.id, ()), recorded, rule, policy, now)
        if isinstance(action, Retry):
            await _retry(session, visit, action, report)
        elif isinstance(action, Ask):
            await _ask(session, visit, action, now, zone, report)
        elif isinstance(action, Escalate):
            done = await escalate(session, visit, action, now, steps=rule.steps, zone=zone,
                                  task_due=policy.task_due)  # fmt: skip
            if done is not None:
                _report(report, visit, done.alert)
    return report


def _state(visit: Visit) -> VisitState:
    return VisitState(
        visit.planned_at, visit.window_min, visit.channel, visit.attempts, visit.next_attempt_at
    )


async def _retry(session: AsyncSession, visit: Visit, retry: Retry, report: LadderReport) -> None:
    """Record the failed attempts and when to try again."""
    if await lifecycle.move(
        session, visit, Change.RETRY, attempts=retry.attempts, next_attempt_at=retry.at
    ):
        report.updated.append(update_of(visit))


async def _ask(
    session: AsyncSession,
    visit: Visit,
    ask: Ask,
    now: dt.datetime,
    zone: ZoneInfo,
    report: LadderReport,
) -> None:
    """Record the failed attempts, set no retry, and ask the team whether to ring again."""
    if not await lifecycle.move(
        session, visit, Change.RETRY, attempts=ask.attempts, next_attempt_at=None
    ):
        return
    report.updated.append(update_of(visit))
    alert = await ask_team(session, visit, now, zone)
    if alert is not None:
        report.alerts.append(alert)


def _report(report: LadderReport, visit: Visit, alert: AlertRaised | None) -> None:
    """An escalation: its alert (unless the organisation wants none) and the visit's update."""
    if alert is not None:
        report.alerts.append(alert)
    report.updated.append(update_of(visit))


async def _calls(session: AsyncSession, visit_ids: Sequence[int]) -> dict[int, list[CallRecord]]:
    """Per visit, its calls oldest first."""
    if not visit_ids:
        return {}
    rows = await session.execute(
        select(
            Call.visit_id,
            Call.state,
            Call.ring_started_at,
            Call.answered_at,
            Call.ended_at,
            Call.end_reason,
            Call.lease_until,
        )
        .where(Call.visit_id.in_(visit_ids))
        .order_by(Call.ring_started_at, Call.id)
    )
    grouped: defaultdict[int, list[CallRecord]] = defaultdict(list)
    for visit_id, state, rang, answered, ended, reason, lease in rows:
        if visit_id is not None:
            grouped[visit_id].append(CallRecord(state, rang, answered, ended, reason, lease))
    return grouped
