"""Failed-login throttling that strangers cannot turn against a nurse. The rules are pure.

Failures are counted under three keys at once:

* a username from one client address: a growing delay, then a lock — of that address only, so
  someone guessing from elsewhere never locks the real user out;
* a client address, whatever usernames it tries (password spraying): a growing delay, never a
  lock, since a whole office may share one address behind its router;
* a username from anywhere (guessing spread over many addresses): a growing delay, never a lock,
  capped at a minute, which the real user can always wait out.

A count starts afresh after ``lock_minutes`` without failures; a successful login clears the
username's keys and its address's.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import LoginLocked, TooManyRequests
from ..models import LoginThrottle, utcnow
from ..translatable import N_

__all__ = [
    "LoginThrottle",
    "ThrottleKeys",
    "ThrottleRule",
    "ThrottleRules",
    "check_allowed",
    "clear",
    "record_failure",
]

MAX_DELAY_S = 60


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """Past ``delay_after`` failures each try waits 2^(n - delay_after) s (at most a minute);
    ``lock_after`` failures lock the key for ``lock_minutes`` (None: never)."""

    delay_after: int
    lock_after: int | None
    lock_minutes: int

    def wait_after(self, failures: int) -> dt.timedelta:
        """How long after the last failure the next attempt is refused."""
        if failures < self.delay_after:
            return dt.timedelta(0)
        return dt.timedelta(seconds=min(2 ** min(failures - self.delay_after, 6), MAX_DELAY_S))

    def locks(self, failures: int) -> bool:
        """True when this many failures lock the key."""
        return self.lock_after is not None and failures >= self.lock_after


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    """The rule of each key."""

    pair: ThrottleRule
    address: ThrottleRule
    account: ThrottleRule


@dataclass(frozen=True, slots=True)
class ThrottleKeys:
    """The keys one attempt is counted under."""

    username: str
    address: str

    def with_rules(self, rules: ThrottleRules) -> tuple[tuple[str, ThrottleRule], ...]:
        return (
            (f"pair:{self.username}|{self.address}", rules.pair),
            (f"address:{self.address}", rules.address),
            (f"account:{self.username}", rules.account),
        )


def _check_one(row: LoginThrottle | None, rule: ThrottleRule, now: dt.datetime) -> None:
    if row is None:
        return
    if row.locked_until is not None and row.locked_until > now:
        raise LoginLocked(retry_after=_seconds(row.locked_until - now))
    if row.last_failure_at is None or _expired(row, rule, now):
        return
    allowed_at = row.last_failure_at + rule.wait_after(row.failures)
    if allowed_at > now:
        raise TooManyRequests(
            N_("For mange forkerte forsøg. Vent lidt, og prøv igen."),
            retry_after=_seconds(allowed_at - now),
        )


async def check_allowed(
    session: AsyncSession, keys: ThrottleKeys, rules: ThrottleRules, now: dt.datetime
) -> None:
    """Raise when a login attempt must be refused right now."""
    for key, rule in keys.with_rules(rules):
        _check_one(await session.get(LoginThrottle, key), rule, now)


async def record_failure(session: AsyncSession, keys: ThrottleKeys, rules: ThrottleRules) -> None:
    """Count one failure under every key; lock a key once its rule says so."""
    now = utcnow()
    for key, rule in keys.with_rules(rules):
        row = await session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0)
            session.add(row)
        if _expired(row, rule, now):
            row.failures = 0  # a quiet spell, or a lock that ran out: a fresh count
        row.failures += 1
        row.last_failure_at = now
        row.locked_until = (
            now + dt.timedelta(minutes=rule.lock_minutes) if rule.locks(row.failures) else None
        )


async def clear(session: AsyncSession, keys: ThrottleKeys, rules: ThrottleRules) -> None:
    """Forget failures after a successful login."""
    for key, _ in keys.with_rules(rules):
        row = await session.get(LoginThrottle, key)
        if row is not None:
            await session.delete(row)


def _expired(row: LoginThrottle, rule: ThrottleRule, now: dt.datetime) -> bool:
    """True when the count no longer applies: its lock ran out, or no failure for a while."""
    if row.locked_until is not None:
        return row.locked_until <= now
    quiet = dt.timedelta(minutes=rule.lock_minutes)
    return row.last_failure_at is not None and now - row.last_failure_at > quiet


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
