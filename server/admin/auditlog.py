"""The audit log as the administrator reads it: filtered, newest first, and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, String, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import AuditEvent, Citizen

AUDIT_PAGE = 200
AUDIT_CSV_MAX = 50_000


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit event."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject_kind: str | None
    subject_id: str | None
    detail: dict[str, object]
    remote: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the administrator narrowed the audit log to."""

    action: str | None = None
    actor: str | None = None
    subject_kind: str | None = None
    subject_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _in_org(org_id: int) -> ColumnElement[bool]:
    # System events (the signalling server's "call.end") carry no organisation; they belong to
    # the organisation of the citizen they are about.
    own_citizens = select(cast(Citizen.id, String)).where(Citizen.organisation_id == org_id)
    return or_(
        AuditEvent.organisation_id == org_id,
        and_(
            AuditEvent.organisation_id.is_(None),
            AuditEvent.subject_kind == "citizen",
            AuditEvent.subject_id.in_(own_citizens),
        ),
    )


def _conditions(org_id: int, flt: AuditFilter) -> list[ColumnElement[bool]]:
    conds = [_in_org(org_id)]
    if flt.action:
        conds.append(AuditEvent.action.startswith(flt.action, autoescape=True))
    if flt.actor:
        conds.append(AuditEvent.actor.contains(flt.actor, autoescape=True))
    if flt.subject_kind:
        conds.append(AuditEvent.subject_kind == flt.subject_kind)
    if flt.subject_id:
        conds.append(AuditEvent.subject_id == flt.subject_id)
    if flt.since:
        conds.append(AuditEvent.at >= flt.since)
    if flt.until:
        conds.append(AuditEvent.at < flt.until)
    return conds


async def audit_rows(
    session: AsyncSession, org_id: int, flt: AuditFilter, limit: int = AUDIT_PAGE
) -> list[AuditRow]:
    """The newest audit events matching ``flt``."""
    rows = await session.scalars(
        select(AuditEvent)
        .where(*_conditions(org_id, flt))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        AuditRow(e.id, e.at, e.actor, e.action, e.subject_kind, e.subject_id, e.detail, e.remote)
        for e in rows
    ]


CSV_COLUMNS = ("id", "at", "actor", "action", "subject_kind", "subject_id", "remote", "detail")


def audit_csv(rows: list[AuditRow]) -> str:
    """The rows as CSV; cells that a spreadsheet would run as formulas are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = to_jsonable_python(row)
        writer.writerow([_cell(data[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
