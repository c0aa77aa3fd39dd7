"""Loading visits and organisation settings for the console, through the one authz helper."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.authz import require_citizen
from ..auth.identity import StaffIdentity
from ..errors import NotFound
from ..keys import hub_key
from ..models import Citizen, Organisation, Visit
from ..orgsettings import OrgSettings, read_settings
from ..signaling.messages import VisitUpdated


async def require_visit(
    request: web.Request, session: AsyncSession, visit_id: int, *, for_update: bool = False
) -> tuple[StaffIdentity, Citizen, Visit]:
    """A visit of a citizen the caller may see (the read is audited like any citizen read).

    ``for_update`` locks the visit row first (PostgreSQL), in the same order as the missed-visit
    ladder, so a nurse's outcome and an escalation wait for each other instead of deadlocking.
    """
    visit = await session.get(Visit, visit_id, with_for_update=for_update)
    if visit is None:
        raise NotFound("No such visit.")
    identity, citizen = await require_citizen(request, session, visit.citizen_id)
    return identity, citizen, visit


async def org_settings(session: AsyncSession, organisation_id: int) -> OrgSettings:
    """The organisation's console settings, with defaults."""
    org = await session.get(Organisation, organisation_id)
    return read_settings(org.settings if org else None)


async def announce_visit(request: web.Request, visit: Visit) -> None:
    """Tell the team's open consoles that a visit changed (the call list updates live)."""
    message = VisitUpdated(
        visit_id=str(visit.id),
        citizen_id=str(visit.citizen_id),
        team_id=str(visit.team_id),
        status=visit.status.value,
    )
    hub = request.app.get(hub_key)
    if hub is not None:
        await hub.notify_team(visit.team_id, message)
