"""Counting failures per key in a sliding window: in this process, or shared by the nodes.

An attempt is counted *before* it is evaluated (``take``) and forgiven when it turns out right
(``forgive``), so parallel guesses cannot all pass the check before any of them is counted: at
most ``limit`` are ever evaluated per window. With ``SCREENVISIT_REDIS_URL`` set the counts live
in Redis (one sorted set per key, changed in one MULTI), so every node sees the same limit.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from .errors import TooManyRequests
from .shared_state import REDIS_AWAY
from .translatable import N_

CODE_FAILURES_PER_STAFF = 5  # wrong pairing codes per FAILURE_WINDOW_S before a staff member waits
RELATIVE_LINK_FAILURES = 10  # wrong relative-link tokens per FAILURE_WINDOW_S per client address
FAILURE_WINDOW_S = 600.0
Key = int | str
LOCAL = "local:"  # marks a token counted in this process (Redis was away)
logger = logging.getLogger(__name__)


class FailureLimiter(Protocol):
    """Wrong guesses per key (staff member, client address) in a sliding window.

    Guessing a pairing code needs about 500,000 tries per live code; five per ten minutes makes
    it hopeless.
    """

    limit: int
    window_s: float

    async def take(self, key: Key) -> str:
        """Count one attempt (a token to forgive it by); ``TooManyRequests`` when over."""

    async def forgive(self, key: Key, token: str) -> None:
        """The attempt was right: it does not count."""


def too_many(retry_after_s: float) -> TooManyRequests:
    """The one refusal every limiter gives."""
    return TooManyRequests(
        N_("For mange forkerte koder. Vent lidt, og prøv igen."),
        retry_after=max(1, int(retry_after_s)),
    )


class LocalLimiter:
    """Counts in this process (one node)."""

    def __init__(
        self,
        limit: int = CODE_FAILURES_PER_STAFF,
        window_s: float = FAILURE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._attempts: dict[Key, dict[str, float]] = {}  # key → token → when (in order)

    async def take(self, key: Key) -> str:
        """Count one attempt, or refuse it."""
        now = self._clock()
        attempts = self._attempts.setdefault(key, {})
        for token in [t for t, at in attempts.items() if now - at > self.window_s]:
            del attempts[token]
        if len(attempts) >= self.limit:
            raise too_many(self.window_s - (now - next(iter(attempts.values()))))
        token = secrets.token_hex(8)
        attempts[token] = now
        return token

    async def forgive(self, key: Key, token: str) -> None:
        """Forget a right attempt."""
        attempts = self._attempts.get(key, {})
        attempts.pop(token, None)
        if not attempts:
            self._attempts.pop(key, None)


class SharedLimiter:
    """Counts in Redis, shared by every node (``name`` keeps limiters apart)."""

    def __init__(
        self,
        redis: Any,  # Any: redis-py's annotations ignore decode_responses
        name: str,
        limit: int = CODE_FAILURES_PER_STAFF,
        window_s: float = FAILURE_WINDOW_S,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._redis = redis
        self._name = name
        # While Redis is away each node counts on its own: a limit per node beats none, and
        # refusing every sign-in or pairing because Redis is down beats neither.
        self._local = LocalLimiter(limit, window_s)

    async def take(self, key: Key) -> str:
        """Count in Redis, or in this process while Redis cannot be reached."""
        try:
            return await self._take_shared(key)
        except REDIS_AWAY:
            logger.warning("Redis unreachable: limit %s counts in this process", self._name)
            return LOCAL + await self._local.take(key)

    async def forgive(self, key: Key, token: str) -> None:
        """Forget a right attempt."""
        if token.startswith(LOCAL):
            await self._local.forgive(key, token.removeprefix(LOCAL))
            return
        with contextlib.suppress(*REDIS_AWAY):  # it expires with its window anyway
            await self._redis.zrem(self._key(key), token)

    async def _take_shared(self, key: Key) -> str:
        """Add the attempt and count, in one transaction; take it back when over."""
        now = time.time()
        token = f"{now:.6f}:{secrets.token_hex(4)}"
        redis_key = self._key(key)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(redis_key, 0, now - self.window_s)
        pipe.zadd(redis_key, {token: now})
        pipe.zrange(redis_key, 0, 0, withscores=True)
        pipe.zcard(redis_key)
        pipe.expire(redis_key, int(self.window_s) + 1)
        _, _, oldest, count, _ = await pipe.execute()
        if count > self.limit:
            await self._redis.zrem(redis_key, token)
            first = float(oldest[0][1]) if oldest else now
            raise too_many(self.window_s - (now - first))
        return token

    def _key(self, key: Key) -> str:
        return f"sv:limit:{self._name}:{key}"


class Limiters:
    """Makes the app's limiters: shared in Redis when ``redis_url`` is set, else in process."""

    def __init__(self, redis_url: str | None) -> None:
        from redis.asyncio import Redis

        self._redis = (
            None
            if not redis_url
            else Redis.from_url(
                redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
            )
        )

    def make(self, name: str, limit: int, window_s: float = FAILURE_WINDOW_S) -> FailureLimiter:
        """One limiter; ``name`` tells its counts apart from the others' in Redis."""
        if self._redis is None:
            return LocalLimiter(limit, window_s)
        return SharedLimiter(self._redis, name, limit, window_s)

    async def close(self) -> None:
        """Let go of Redis (app clean-up)."""
        if self._redis is not None:
            await self._redis.aclose()
