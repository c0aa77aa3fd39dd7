"""Failure limits: counted before the guess is evaluated, so parallel guesses cannot slip past
the limit; shared by the nodes in Redis when configured."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from redis.asyncio import Redis

from server.app import create_app
from server.errors import TooManyRequests
from server.ratelimit import FailureLimiter, LocalLimiter, SharedLimiter
from server.settings import Settings
from tests import databases
from tests.conftest import Client
from tests.kiosk_web.test_enrolment_api import KAREN, staff_csrf

LIMIT_REDIS = "redis://127.0.0.1:6379/5"  # this module's own database, flushed per test


@pytest.fixture
async def redis() -> Any:
    """An empty Redis database for the shared limits."""
    if not await databases.redis_reachable(LIMIT_REDIS):
        databases.missing_service("Redis at 127.0.0.1:6379")
    client = Redis.from_url(LIMIT_REDIS, decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture(params=["local", "shared"])
async def limiter(request: pytest.FixtureRequest, redis: Redis) -> FailureLimiter:
    """A limit of three, of each kind."""
    if request.param == "local":
        return LocalLimiter(limit=3, window_s=60)
    return SharedLimiter(redis, "test", limit=3, window_s=60)


async def test_at_most_the_limit_is_ever_taken_and_right_guesses_are_forgiven(
    limiter: FailureLimiter,
) -> None:
    """Twenty guesses at once: three are let through; one of them right frees its place."""
    results = await asyncio.gather(*(limiter.take("k") for _ in range(20)), return_exceptions=True)
    taken = [r for r in results if isinstance(r, str)]
    assert len(taken) == 3
    assert all(isinstance(r, TooManyRequests) for r in results if r not in taken)
    await limiter.forgive("k", taken[0])
    await limiter.take("k")
    with pytest.raises(TooManyRequests):
        await limiter.take("k")
    await limiter.take("another key")


async def test_parallel_wrong_pairing_codes_stop_at_the_limit(
    demo: Settings, client: Client
) -> None:
    """Thirty wrong codes sent at once by one nurse: five are checked, the rest get 429."""
    csrf = {"X-CSRF-Token": await staff_csrf(client)}
    url = f"/api/citizens/{KAREN}/enrol"
    answers = await asyncio.gather(
        *(client.post(url, json={"code": "999999"}, headers=csrf) for _ in range(30))
    )
    statuses = sorted(a.status for a in answers)
    assert statuses.count(400) + statuses.count(422) == 5 and statuses.count(429) == 25


async def test_two_nodes_share_one_pairing_code_limit(
    demo: Settings, aiohttp_client: Any, redis: Redis
) -> None:
    """With Redis, wrong codes on node A count on node B too."""
    shared = dataclasses.replace(demo, redis_url=LIMIT_REDIS)
    node_a: Client = await aiohttp_client(create_app(shared))
    node_b: Client = await aiohttp_client(create_app(shared))
    for node, wrong in ((node_a, 3), (node_b, 2)):
        csrf = {"X-CSRF-Token": await staff_csrf(node)}
        for _ in range(wrong):
            answer = await node.post(
                f"/api/citizens/{KAREN}/enrol", json={"code": "999999"}, headers=csrf
            )
            assert answer.status != 429
    limited = await node_a.post(
        f"/api/citizens/{KAREN}/enrol",
        json={"code": "999999"},
        headers={"X-CSRF-Token": await staff_csrf(node_a)},
    )
    assert limited.status == 429 and "Retry-After" in limited.headers


async def test_a_shared_limit_counts_locally_while_redis_is_away() -> None:
    """Redis unreachable: each node still limits guesses on its own (never none, never a 500)."""
    away = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    limiter = SharedLimiter(away, "t", limit=3, window_s=60)
    try:
        tokens = [await limiter.take("anna") for _ in range(3)]
        with pytest.raises(TooManyRequests):
            await limiter.take("anna")
        await limiter.forgive("anna", tokens[0])  # a right guess does not count
        await limiter.take("anna")
    finally:
        await away.aclose()
