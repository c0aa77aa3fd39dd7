"""Fixtures of the multi-node test: a seeded PostgreSQL database per session, a Redis db of its
own per test, and two nodes behind nginx. With CI=true a missing nginx, PostgreSQL or Redis
fails the run (tests/databases.py's rule); elsewhere the tests skip."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests import databases
from tests.multinode import harness

REDIS = "redis://127.0.0.1:6379"
# Redis dbs 10-15 belong to this test; a run claims one (two runs on one machine never share
# one) with a lock key in db 0 that expires by itself if the run dies.
REDIS_DBS = range(10, 16)
CLAIM_S = 600


async def admin(sql: str) -> None:
    """One statement on the test server's maintenance database."""
    conn = await asyncpg.connect(databases.PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def multinode_db() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated and seeded with the demo by the real CLI, once per
    session (each test starts nodes of its own on it)."""
    name = f"sv_multinode_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(admin(f"CREATE DATABASE {name}"))
    except (OSError, asyncpg.PostgresError):
        databases.missing_service("PostgreSQL at 127.0.0.1:5432")
    url = databases.pg_url(name)
    try:
        env = harness.node_env(url, f"{REDIS}/0", "http://127.0.0.1")
        env.pop("SCREENVISIT_REDIS_URL", None)  # migrations and the seed need no Redis
        harness.run_cli(env, "migrate")
        harness.run_cli(env, "seed-demo")
        yield url
    finally:
        asyncio.run(databases.drop_pg(name))


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The URL of an empty Redis db claimed for this test; emptied and released afterwards."""
    if not await databases.redis_reachable(f"{REDIS}/0"):
        databases.missing_service("Redis at 127.0.0.1:6379")
    locks = Redis.from_url(f"{REDIS}/0")
    token = uuid.uuid4().hex
    try:
        for db in REDIS_DBS:
            key = f"screenvisit:test:multinode-db:{db}"
            if await locks.set(key, token, nx=True, ex=CLAIM_S):
                break
        else:
            pytest.fail(f"every Redis db {REDIS_DBS.start}-{REDIS_DBS.stop - 1} is claimed")
        url = f"{REDIS}/{db}"
        await flush(url)
        yield url
        await flush(url)
        if (await locks.get(key)) == token.encode():
            await locks.delete(key)
    finally:
        await locks.aclose()


async def flush(url: str) -> None:
    """Empty one Redis db."""
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    except RedisError as exc:
        pytest.fail(f"cannot empty {url}: {exc}")
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def nginx_path() -> str:
    """The nginx binary (scripts/test installs Debian's)."""
    binary = harness.nginx_binary()
    if binary is None:
        databases.missing_service("nginx")
    assert binary is not None
    return binary


@dataclasses.dataclass
class Cluster:
    """Node A, node B and nginx in front of them, and where their logs are."""

    a: harness.Node
    b: harness.Node
    nginx: harness.Nginx
    workdir: Path
    database_url: str
    redis_url: str

    @property
    def tablet_url(self) -> str:
        """Where tablets connect (nginx: node A, node B as backup)."""
        return self.nginx.url("tablet")

    @property
    def staff_url(self) -> str:
        """Where staff connect (nginx: node B, node A as backup)."""
        return self.nginx.url("staff")

    def logs(self) -> str:
        """Every log's tail, for a failure report."""
        names = ["node-A.log", "node-B.log", "kiosk.log", "nginx-error.log", "nginx-access.log"]
        paths = [self.workdir / n for n in names if (self.workdir / n).exists()]
        return "\n".join(f"--- {p.name}\n{harness.tail(p)}" for p in paths)


# Short timers, so a dead node's calls settle within the test's time: the lease is renewed every
# 2 s, a seat waits 20 s for its peer. Node heartbeat settings are passed if the server has them.
NODE_SETTINGS = {
    "call_lease_s": "6",
    "reconnect_grace_s": "20",
    "ring_timeout_s": "20",
    "node_heartbeat_s": "1",
    "node_expiry_s": "5",
}


@pytest.fixture
async def cluster(
    multinode_db: str, redis_url: str, nginx_path: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Nodes A and B (same database, same Redis db, same secret) and nginx, all stopped after."""
    ports = harness.free_port(), harness.free_port()
    nginx = harness.start_nginx(nginx_path, tmp_path, *ports)
    env = harness.node_env(multinode_db, redis_url, nginx.url(""), **NODE_SETTINGS)
    a = harness.start_node("A", ports[0], env, tmp_path)
    b = harness.start_node("B", ports[1], env, tmp_path)
    built = Cluster(a, b, nginx, tmp_path, multinode_db, redis_url)
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(harness.wait_ready(a, http), harness.wait_ready(b, http))
        await harness.wait_listening(nginx.port, nginx.process, "nginx")
        yield built
    finally:
        for stop in (a.stop, b.stop, nginx.stop):
            stop()
        print(built.logs())  # shown by pytest only when the test failed
