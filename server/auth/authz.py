"""The one authorization helper: role- and team-scoped access, used by every handler."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..errors import Forbidden, NotAuthenticated, NotFound
from ..identity import StaffIdentity
from ..keys import identity_key, sessionmaker_key
from ..models import Citizen, Visit
from ..translatable import N_
from ..vocabulary import Role
from .scope import citizen_scope


def current_identity(request: web.Request) -> StaffIdentity | None:
    """The logged-in staff member, if any (set by the auth middleware)."""
    return request.get(identity_key)


def require_staff(request: web.Request, *roles: Role) -> StaffIdentity:
    """The logged-in staff member; raise unless logged in and (when given) in one of ``roles``."""
    identity = current_identity(request)
    if identity is None:
        raise NotAuthenticated()
    if roles and identity.role not in roles:
        raise Forbidden(N_("Din rolle giver ikke adgang til dette."))
    return identity


async def require_citizen(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> tuple[StaffIdentity, Citizen]:
    """Load a citizen the caller may see and audit the read; deny (and audit that) otherwise."""
    identity = require_staff(request)
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound(N_("Borgeren findes ikke."))
    visible = await session.scalar(
        select(Citizen.id).where(Citizen.id == citizen_id, citizen_scope(identity))
    )
    if visible is None:
        await _audit_denied(request, identity, citizen_id)
        if citizen.organisation_id != identity.organisation_id:
            # Answered like an id that does not exist: a 403 would tell another
            # organisation which citizen ids are in use (found by tests/authz).
            raise NotFound(N_("Borgeren findes ikke."))
        raise Forbidden(N_("Borgeren hører ikke til dine teams."))
    audit.record(
        session, "citizen.read", actor=identity, subject=("citizen", citizen_id), request=request
    )
    return identity, citizen


async def _audit_denied(request: web.Request, identity: StaffIdentity, citizen_id: int) -> None:
    # Its own transaction: the request's transaction is rolled back when Forbidden propagates.
    async with request.app[sessionmaker_key].begin() as session:
        audit.record(
            session,
            "citizen.read_denied",
            actor=identity,
            subject=("citizen", citizen_id),
            request=request,
        )


async def require_visit(
    request: web.Request, session: AsyncSession, visit_id: int, *, for_update: bool = False
) -> tuple[StaffIdentity, Citizen, Visit]:
    """A visit of a citizen the caller may see (the read is audited like any citizen read).

    ``for_update`` locks the visit row first (PostgreSQL), in the same order as the missed-visit
    ladder, so a nurse's outcome and an escalation wait for each other instead of deadlocking.
    """
    require_staff(request)  # before the lookup: a stranger learns nothing of which ids exist
    visit = await session.get(Visit, visit_id, with_for_update=for_update)
    if visit is None:
        raise NotFound(N_("Besøget findes ikke."))
    identity, citizen = await require_citizen(request, session, visit.citizen_id)
    return identity, citizen, visit
