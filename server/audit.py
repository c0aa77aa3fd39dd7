"""Writing audit events; callers pass their session so the event commits with their change."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from .identity import StaffIdentity
from .models import AuditEvent


def remote_of(request: web.Request | None) -> str | None:
    """The client address as aiohttp sees it (behind nginx, set up the forwarded headers)."""
    return request.remote if request is not None else None


def record(
    session: AsyncSession,
    action: str,
    *,
    actor: StaffIdentity | str,
    subject: tuple[str, object] | None = None,
    detail: dict[str, Any] | None = None,
    request: web.Request | None = None,
) -> AuditEvent:
    """Add one audit event to ``session`` (committed by the caller's transaction)."""
    staff = actor if isinstance(actor, StaffIdentity) else None
    event = AuditEvent(
        organisation_id=staff.organisation_id if staff else None,
        actor_staff_id=staff.staff_id if staff else None,
        actor=staff.actor if staff else str(actor),
        action=action,
        subject_kind=subject[0] if subject else None,
        subject_id=str(subject[1]) if subject else None,
        detail=detail or {},
        remote=remote_of(request),
    )
    session.add(event)
    return event
