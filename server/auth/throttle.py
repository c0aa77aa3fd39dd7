"""Failed-login throttling: a growing delay, then a lockout. The rule itself is pure."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import LoginLocked, TooManyRequests
from ..models import LoginThrottle, utcnow
from ..translatable import N_

__all__ = ["LoginThrottle", "ThrottleRule", "check_allowed", "clear", "record_failure"]


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """Past ``delay_after`` failures each try waits 2^(n - delay_after) s; ``lock_after`` locks."""

    delay_after: int
    lock_after: int
    lock_minutes: int

    def wait_after(self, failures: int) -> dt.timedelta:
        """How long after the last failure the next attempt is refused."""
        if failures < self.delay_after:
            return dt.timedelta(0)
        return dt.timedelta(seconds=min(2 ** (failures - self.delay_after), 60))

    def locks(self, failures: int) -> bool:
        """True when this many failures lock the username."""
        return failures >= self.lock_after


def check_allowed(row: LoginThrottle | None, rule: ThrottleRule, now: dt.datetime) -> None:
    """Raise when a login attempt for this username must be refused right now."""
    if row is None:
        return
    if row.locked_until is not None and row.locked_until > now:
        raise LoginLocked(retry_after=_seconds(row.locked_until - now))
    if row.last_failure_at is None:
        return
    allowed_at = row.last_failure_at + rule.wait_after(row.failures)
    if allowed_at > now:
        raise TooManyRequests(
            N_("For mange forkerte forsøg. Vent lidt, og prøv igen."),
            retry_after=_seconds(allowed_at - now),
        )


async def record_failure(session: AsyncSession, username: str, rule: ThrottleRule) -> LoginThrottle:
    """Count one failure for ``username``; lock it once the rule says so."""
    row = await session.get(LoginThrottle, username)
    if row is None:
        row = LoginThrottle(username=username, failures=0)
        session.add(row)
    now = utcnow()
    if row.locked_until is not None and row.locked_until <= now:
        row.failures = 0  # a lock that ran out starts a fresh count
    row.failures += 1
    row.last_failure_at = now
    row.locked_until = (
        now + dt.timedelta(minutes=rule.lock_minutes) if rule.locks(row.failures) else None
    )
    return row


async def clear(session: AsyncSession, username: str) -> None:
    """Forget failures after a successful login."""
    row = await session.get(LoginThrottle, username)
    if row is not None:
        await session.delete(row)


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
