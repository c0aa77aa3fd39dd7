"""One small bench population (PostgreSQL) shared by the benchmarks' smoke tests."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from bench import population
from bench.harness import PEERJS
from tests import databases

SMOKE_KIOSKS = 20


def _postgres_reachable() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(population.ADMIN_DSN, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError):
        return False
    return True


@pytest.fixture(scope="session")
def bench_population() -> Iterator[population.Population]:
    """20 enrolled tablets and the bulk nurses, made once for every smoke test."""
    if not PEERJS.exists() or not shutil.which("node"):
        databases.missing_service("the PeerJS server (npm ci installs node_modules/peer)")
    if not _postgres_reachable():
        databases.missing_service("PostgreSQL")
    made = asyncio.run(population.create(SMOKE_KIOSKS, f"sv_bench_smoke_{uuid.uuid4().hex[:8]}"))
    yield made
    asyncio.run(population.drop(made))
