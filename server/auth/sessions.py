"""Server-side login sessions keyed by a random cookie token (only its hash is stored).

``expires_at`` is the moment the session ends unless it is used: with an idle limit it is
moved forward by each request (and by an open console socket, see ``auth.idle``) to ``now +
idle``, never past ``created_at`` + the session's lifetime. Without one it is that lifetime.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity import StaffIdentity
from ..models import Staff, StaffSession, TeamMembership, utcnow
from ..security import new_token, token_hash

SESSION_COOKIE = "sv_session"
CSRF_COOKIE = "sv_csrf"
# A deadline moves only when it gains this much: one write a minute per busy session, not
# one per request (the call list alone polls every minute).
SLIDE_STEP = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """How long a session lives at most, and how long it survives without a request."""

    lifetime: dt.timedelta
    idle: dt.timedelta | None  # None: no idle limit

    @classmethod
    def of(cls, hours: int, idle_minutes: int) -> SessionWindow:
        """From the settings; an idle limit of 0 minutes means none."""
        idle = dt.timedelta(minutes=idle_minutes) if idle_minutes > 0 else None
        return cls(dt.timedelta(hours=hours), idle)

    def deadline(self, created_at: dt.datetime, now: dt.datetime) -> dt.datetime:
        """When a session created at ``created_at`` and used ``now`` ends unless used again."""
        end = created_at + self.lifetime
        return end if self.idle is None else min(end, now + self.idle)


async def open_session(
    session: AsyncSession, staff: Staff, hours: int, remote: str | None, idle_minutes: int = 0
) -> tuple[str, StaffSession]:
    """Create a session row and return the cookie token that refers to it."""
    token = new_token()
    now = utcnow()
    row = StaffSession(
        token_hash=token_hash(token),
        staff_id=staff.id,
        csrf_token=new_token(24),
        created_at=now,
        expires_at=SessionWindow.of(hours, idle_minutes).deadline(now, now),
        remote=remote,
    )
    session.add(row)
    await session.flush()
    return token, row


async def load_identity(
    session: AsyncSession, token: str, window: SessionWindow | None = None
) -> StaffIdentity | None:
    """The identity behind a cookie token, or None when unknown, expired (idle too long) or
    deactivated. With a ``window`` this request counts as use: the deadline moves (and the
    session commits) when it gains a minute or more."""
    result = await session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == token_hash(token))
    )
    found = result.first()
    if found is None:
        return None
    row, staff = found
    now = utcnow()
    if row.expires_at <= now or not staff.active:
        return None
    teams = await session.scalars(
        select(TeamMembership.team_id).where(TeamMembership.staff_id == staff.id)
    )
    identity = identity_of(staff, row, frozenset(teams))
    if window is not None:
        await _slide(session, row, window.deadline(row.created_at, now))
    return identity


async def _slide(session: AsyncSession, row: StaffSession, deadline: dt.datetime) -> None:
    """Move the session's deadline when it changes by a step or more (a session opened
    before the idle limit was set is brought under it too)."""
    if abs(deadline - row.expires_at) < SLIDE_STEP:
        return
    row.expires_at = deadline
    await session.commit()


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


async def close_all_sessions(
    session: AsyncSession, staff_id: int, *, keep_session_id: int | None = None
) -> None:
    """End every session of a staff member (deactivation), or every other one than
    ``keep_session_id`` (a password change: the person who changed it stays signed in)."""
    query = delete(StaffSession).where(StaffSession.staff_id == staff_id)
    if keep_session_id is not None:
        query = query.where(StaffSession.id != keep_session_id)
    await session.execute(query)


async def change_password(
    session: AsyncSession, staff: Staff, password_hash: str, *, keep_session_id: int | None = None
) -> None:
    """Store a new password hash and end the person's sessions but ``keep_session_id`` (the
    one that changed it, when she changed it herself): a stolen cookie dies with the old
    password."""
    staff.password_hash = password_hash
    await close_all_sessions(session, staff.id, keep_session_id=keep_session_id)


async def keep_alive(
    session: AsyncSession, session_ids: set[int], window: SessionWindow, now: dt.datetime
) -> int:
    """Count an open console socket as use of its login session: move each live session's
    deadline as a request would. Sessions already ended stay ended. The caller commits."""
    if window.idle is None or not session_ids:
        return 0
    rows = await session.scalars(
        select(StaffSession).where(StaffSession.id.in_(session_ids), StaffSession.expires_at > now)
    )
    moved = 0
    for row in rows:
        deadline = window.deadline(row.created_at, now)
        if deadline - row.expires_at >= SLIDE_STEP:
            row.expires_at = deadline
            moved += 1
    return moved


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
