"""Test databases: a migrated template per session, copied or cloned for each test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import make_engine, make_sessionmaker
from server.migrate import upgrade
from server.sealing import development_keyring

PG_ADMIN_DSN = os.environ.get("SCREENVISIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# One template per test session, so two test runs on one machine never share it.
PG_TEMPLATE = f"sv_template_{uuid.uuid4().hex[:10]}"


def in_ci() -> bool:
    """CI=true turns a missing service into a failure instead of a skip."""
    return os.environ.get("CI", "").lower() == "true"


def missing_service(what: str) -> None:
    """Fail in CI, skip on a developer machine without the service."""
    if in_ci():
        pytest.fail(f"{what} is required in CI but is not reachable", pytrace=False)
    pytest.skip(f"{what} not reachable")


def sqlite_url(path: Path) -> str:
    """The async SQLite URL of a file."""
    return f"sqlite+aiosqlite:///{path}"


def make_sqlite_template(directory: Path) -> Path:
    """Migrate one SQLite file to head; tests copy it."""
    path = directory / "template.db"
    asyncio.run(upgrade(sqlite_url(path)))
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    """A private migrated SQLite database for one test."""
    shutil.copyfile(template, target)
    return sqlite_url(target)


def pg_url(database: str) -> str:
    """The async SQLAlchemy URL of a database on the test server."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_pg_template() -> str | None:
    """Create and migrate the template database; None when PostgreSQL is not reachable."""
    try:
        asyncio.run(_admin(f"CREATE DATABASE {PG_TEMPLATE}"))
    except (OSError, asyncpg.PostgresError):
        return None
    asyncio.run(upgrade(pg_url(PG_TEMPLATE)))
    return PG_TEMPLATE


async def clone_pg(template: str) -> str:
    """A private database cloned from the migrated template."""
    name = f"sv_{uuid.uuid4().hex[:12]}"
    await _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


def drop_pg_template() -> None:
    """Remove this session's template at the end of the run."""
    asyncio.run(drop_pg(PG_TEMPLATE))


@contextlib.asynccontextmanager
async def private_pg(template: str | None) -> AsyncIterator[str]:
    """A database cloned from the template for one test, dropped afterwards; a missing
    PostgreSQL fails in CI and skips elsewhere."""
    if template is None:
        missing_service("PostgreSQL at 127.0.0.1:5432")
    assert template is not None
    name = await clone_pg(template)
    try:
        yield pg_url(name)
    finally:
        await drop_pg(name)


async def drop_pg(name: str) -> None:
    """Remove a test database."""
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.asynccontextmanager
async def empty_database(
    backend: str, tmp_path: Path, pg_template: str | None
) -> AsyncIterator[str]:
    """A database with no tables yet, to migrate step by step ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    if pg_template is None:
        missing_service("PostgreSQL at 127.0.0.1:5432")
    name = f"sv_{uuid.uuid4().hex[:12]}"
    await _admin(f"CREATE DATABASE {name}")
    try:
        yield pg_url(name)
    finally:
        await drop_pg(name)


@contextlib.asynccontextmanager
async def transaction(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session in one committed transaction on its own engine, disposed afterwards (with the
    development data key that apps built from code use, so sealed columns read and write)."""
    engine = make_engine(database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()


async def redis_reachable(url: str) -> bool:
    """True when a Redis server answers PING at ``url``."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_timeout=2)
    try:
        return bool(await client.ping())
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()
