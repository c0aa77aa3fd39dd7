"""The database engine and session factory, owned by a cleanup context."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import web
from sqlalchemy import event, exc, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .keys import engine_key, sessionmaker_key, settings_key
from .sealing import Keyring, attach, settings_keyring

# The database cannot be had just now (a full pool, a restart, a locked SQLite file): the
# request did nothing and may be repeated; the edges say so (503 + Retry-After, `try_again`).
# A database that is down (refused, reset) reaches us as the socket's own ConnectionError:
# asyncpg raises it while connecting and SQLAlchemy passes it on unwrapped.
DATABASE_BUSY: tuple[type[Exception], ...] = (
    exc.TimeoutError,
    exc.OperationalError,
    exc.InterfaceError,
    ConnectionError,
)


class PoolLimits(NamedTuple):
    """How many connections the app's engine keeps and opens, and how long a request waits for
    one before it is told to come back (503, or ``try_again`` on the socket)."""

    size: int = 5
    overflow: int = 10
    timeout_s: float = 30.0


def make_engine(
    url: str, pool: PoolLimits | None = None, keyring: Keyring | None = None
) -> AsyncEngine:
    """Create an engine; SQLite gets foreign keys on and WAL for concurrent readers. With a
    keyring its sealed columns are sealed and opened (server/sealing.py)."""
    options: dict[str, Any] = {}
    if pool is not None and not url.startswith("sqlite"):  # SQLite keeps its own pool
        options = {"pool_size": pool.size, "max_overflow": pool.overflow}
        options["pool_timeout"] = pool.timeout_s
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"), **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if keyring is not None:
        attach(engine.dialect, keyring)
    return engine


def restrict_sqlite_files(url: str) -> None:
    """Make an existing SQLite database and its journals private to their owner (files from
    before the process set its umask, or copied in with 0644). The directory is left alone: it
    may be shared (/tmp); `scripts/run` creates var/ as 0700."""
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:":
        return
    path = Path(database)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_uid == os.getuid():
            file.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit IO in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the engine for the app's lifetime and dispose of it on cleanup."""
    settings = app[settings_key]
    pool = PoolLimits(settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout_s)
    engine = make_engine(settings.database_url, pool, settings_keyring(settings))
    app[engine_key] = engine
    app[sessionmaker_key] = make_sessionmaker(engine)
    yield
    await engine.dispose()
