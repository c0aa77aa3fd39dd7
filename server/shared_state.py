"""What "Redis cannot be reached just now" looks like, for every user of the shared state.

Several nodes share presence, live calls, the lobby and guessing limits in Redis. When it is
refused, reset, or does not answer within the socket timeout, redis-py raises one of these; each
user decides what to do without it (carry on locally, or answer `try_again`), never a 500.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_AWAY: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
