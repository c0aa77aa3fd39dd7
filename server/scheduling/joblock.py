"""Serialise a background job across server processes for one transaction.

PostgreSQL takes a transaction-scoped advisory lock. SQLite has one writer at a time, so the
job's first statement is a write (to its `job_lock` row): a second process waits for the first
to commit and then sees its work. Either way, uniqueness constraints remain the last guard.
"""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import JobLock


def lock_key(name: str) -> int:
    """A stable signed 32-bit advisory-lock key for a job name."""
    return zlib.crc32(f"screenvisit:{name}".encode()) - 2**31


async def hold_job_lock(session: AsyncSession, name: str, now: dt.datetime) -> None:
    """Block until this transaction holds the job's lock (released at commit or rollback)."""
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
        await session.execute(
            postgresql.insert(JobLock)
            .on_conflict_do_nothing(index_elements=["name"])
            .values(name=name, ran_at=now)
        )
    else:
        await session.execute(
            sqlite.insert(JobLock)
            .on_conflict_do_nothing(index_elements=["name"])
            .values(name=name, ran_at=now)
        )
    await session.execute(update(JobLock).where(JobLock.name == name).values(ran_at=now))
