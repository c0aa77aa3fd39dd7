"""Retention: call metadata, observations and audit events older than the operator's limits
are deleted, and each deletion is recorded in the audit chain.

The limits are server settings (``RETENTION_CALL_DAYS``, ``RETENTION_OBSERVATION_DAYS``,
``RETENTION_AUDIT_DAYS``): how long records are kept is the data controller's decision for the
whole installation, usually by law, not a per-team preference. 0 keeps everything (the
default). Calls are purged only once ended (their participants go with them); observations by
when they were recorded; audit events through ``audit.purge_before``, the one delete the
PostgreSQL trigger allows, which records an ``audit.purge`` event per chain. Call and
observation purges record a ``retention.purge`` event in each affected organisation's chain.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import audit
from ..models import AuditEvent, Call, Citizen, Observation
from ..settings import Settings
from .joblock import hold_job_lock

ACTION = "retention.purge"
ACTOR = "retention"


@dataclass(frozen=True, slots=True)
class Limits:
    """How many days each kind of record is kept; None keeps it for good."""

    call_days: int | None = None
    observation_days: int | None = None
    audit_days: int | None = None

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """From the settings, where 0 means keep."""
        return cls(
            settings.retention_call_days or None,
            settings.retention_observation_days or None,
            settings.retention_audit_days or None,
        )

    def any(self) -> bool:
        """Whether anything is ever purged."""
        return any((self.call_days, self.observation_days, self.audit_days))


@dataclass(slots=True)
class PurgeReport:
    """What one run deleted (or, dry, would delete): counts per organisation, audit chains."""

    calls: Counter[int] = field(default_factory=Counter)
    observations: Counter[int] = field(default_factory=Counter)
    audit: list[audit.Purged] = field(default_factory=list)
    audit_due: int = 0  # audit events older than the limit (what a dry run would purge)

    def lines(self) -> list[str]:
        """A human summary, one line per kind."""
        return [
            f"calls: {sum(self.calls.values())}",
            f"observations: {sum(self.observations.values())}",
            f"audit events: {sum(p.deleted for p in self.audit) or self.audit_due}",
        ]


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    limits: Limits,
    now: dt.datetime,
    *,
    dry_run: bool = False,
) -> PurgeReport:
    """One purge in one transaction under the ``retention`` job lock (one process at a time);
    a dry run writes nothing."""
    async with sessionmaker() as session, session.begin() as transaction:
        await hold_job_lock(session, "retention", now)
        report = await purge(session, limits, now, dry_run=dry_run)
        if dry_run:
            await transaction.rollback()
    return report


def _cutoff(now: dt.datetime, days: int | None) -> dt.datetime | None:
    return None if days is None else now - dt.timedelta(days=days)


async def purge(
    session: AsyncSession, limits: Limits, now: dt.datetime, *, dry_run: bool = False
) -> PurgeReport:
    """Delete what is older than the limits (the caller commits); ``dry_run`` only counts."""
    report = PurgeReport()
    if (cutoff := _cutoff(now, limits.call_days)) is not None:
        ended = Call.ended_at.is_not(None) & (Call.ended_at < cutoff)
        report.calls = await _purge_rows(session, Call, ended, dry_run)
    if (cutoff := _cutoff(now, limits.observation_days)) is not None:
        old = Observation.recorded_at < cutoff
        report.observations = await _purge_rows(session, Observation, old, dry_run)
    if not dry_run:
        _record(session, report, limits)
    if (cutoff := _cutoff(now, limits.audit_days)) is not None:
        if dry_run:
            found = await session.scalar(select(func.count()).where(AuditEvent.at < cutoff))
            report.audit_due = int(found or 0)
        else:
            report.audit = await audit.purge_before(session, cutoff, actor=ACTOR)
    return report


async def _purge_rows(
    session: AsyncSession,
    model: type[Call] | type[Observation],
    old: ColumnElement[bool],
    dry_run: bool,
) -> Counter[int]:
    """Count the old rows per organisation (through their citizen), then delete them."""
    by_org = (
        select(Citizen.organisation_id, func.count())
        .select_from(model)
        .join(Citizen, Citizen.id == model.citizen_id)
        .where(old)
        .group_by(Citizen.organisation_id)
    )
    counts = Counter({org: int(n) for org, n in (await session.execute(by_org)).all()})
    if counts and not dry_run:
        await session.execute(delete(model).where(old).execution_options(synchronize_session=False))
    return counts


def _record(session: AsyncSession, report: PurgeReport, limits: Limits) -> None:
    """One ``retention.purge`` event per organisation that lost rows, in its own chain."""
    for org in sorted(set(report.calls) | set(report.observations)):
        event = audit.record(
            session,
            ACTION,
            actor=ACTOR,
            detail={
                "calls": report.calls[org],
                "observations": report.observations[org],
                "call_days": limits.call_days,
                "observation_days": limits.observation_days,
            },
        )
        event.organisation_id = org
