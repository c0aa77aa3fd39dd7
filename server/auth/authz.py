"""The one authorization helper: role- and team-scoped access, used by every handler."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..errors import Forbidden, NotAuthenticated, NotFound
from ..keys import identity_key, sessionmaker_key
from ..models import Citizen, ContactPerson, Role
from .identity import StaffIdentity


def current_identity(request: web.Request) -> StaffIdentity | None:
    """The logged-in staff member, if any (set by the auth middleware)."""
    return request.get(identity_key)


def require_staff(request: web.Request, *roles: Role) -> StaffIdentity:
    """The logged-in staff member; raise unless logged in and (when given) in one of ``roles``."""
    identity = current_identity(request)
    if identity is None:
        raise NotAuthenticated()
    if roles and identity.role not in roles:
        raise Forbidden("Your role does not give access to this.")
    return identity


def citizen_scope(identity: StaffIdentity) -> ColumnElement[bool]:
    """SQL condition selecting exactly the citizens ``identity`` may see."""
    same_org = Citizen.organisation_id == identity.organisation_id
    if identity.org_wide:
        return same_org
    is_contact = exists().where(
        ContactPerson.citizen_id == Citizen.id, ContactPerson.staff_id == identity.staff_id
    )
    return same_org & or_(Citizen.team_id.in_(identity.team_ids), is_contact)


async def require_citizen(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> tuple[StaffIdentity, Citizen]:
    """Load a citizen the caller may see and audit the read; deny (and audit that) otherwise."""
    identity = require_staff(request)
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("No such citizen.")
    visible = await session.scalar(
        select(Citizen.id).where(Citizen.id == citizen_id, citizen_scope(identity))
    )
    if visible is None:
        await _audit_denied(request, identity, citizen_id)
        raise Forbidden("This citizen is not in your teams.")
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
