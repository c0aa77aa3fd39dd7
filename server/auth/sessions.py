"""Server-side login sessions keyed by a random cookie token (only its hash is stored)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import StaffIdentity
from ..models import Staff, StaffSession, TeamMembership, utcnow
from ..security import new_token, token_hash

SESSION_COOKIE = "sv_session"
CSRF_COOKIE = "sv_csrf"


async def open_session(
    session: AsyncSession, staff: Staff, hours: int, remote: str | None
) -> tuple[str, StaffSession]:
    """Create a session row and return the cookie token that refers to it."""
    token = new_token()
    row = StaffSession(
        token_hash=token_hash(token),
        staff_id=staff.id,
        csrf_token=new_token(24),
        expires_at=utcnow() + dt.timedelta(hours=hours),
        remote=remote,
    )
    session.add(row)
    await session.flush()
    return token, row


async def load_identity(session: AsyncSession, token: str) -> StaffIdentity | None:
    """The identity behind a cookie token, or None when unknown, expired or deactivated."""
    result = await session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == token_hash(token))
    )
    found = result.first()
    if found is None:
        return None
    row, staff = found
    if row.expires_at <= utcnow() or not staff.active:
        return None
    teams = await session.scalars(
        select(TeamMembership.team_id).where(TeamMembership.staff_id == staff.id)
    )
    return identity_of(staff, row, frozenset(teams))


def identity_of(staff: Staff, row: StaffSession, team_ids: frozenset[int]) -> StaffIdentity:
    """Build the per-request identity value."""
    return StaffIdentity(
        staff_id=staff.id,
        organisation_id=staff.organisation_id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        team_ids=team_ids,
        session_id=row.id,
        csrf_token=row.csrf_token,
        language=staff.language,
    )


async def close_session(session: AsyncSession, session_id: int) -> None:
    """End one session (logout)."""
    await session.execute(delete(StaffSession).where(StaffSession.id == session_id))


async def close_all_sessions(session: AsyncSession, staff_id: int) -> None:
    """End every session of a staff member (deactivation)."""
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))


async def session_still_valid(session: AsyncSession, session_id: int) -> bool:
    """The login session still exists, has not expired, and its owner is active."""
    row = (
        await session.execute(
            select(StaffSession.expires_at, Staff.active)
            .join(Staff, Staff.id == StaffSession.staff_id)
            .where(StaffSession.id == session_id)
        )
    ).first()
    return row is not None and row.active and row.expires_at > utcnow()
