"""Bulk insert of new visit rows: skip keys already stored, count what was inserted.

PostgreSQL gets one `INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT DO
NOTHING` per chunk: a single round trip with no per-row parameter processing, which is where
generation at scale spent its time before (see docs/benchmarks.md). SQLite gets executemany
with ON CONFLICT DO NOTHING. Rows are plain tuples, never ORM objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Visit, VisitStatus, utcnow

INSERT_CHUNK = 2000  # SQLite rows per executemany
UNNEST_CHUNK = 20_000  # PostgreSQL rows per statement

# The columns `insert_visits` writes, in order (status, attempts and created_at: same for all).
COLUMNS = (
    "plan_id",
    "occurrence_key",
    "citizen_id",
    "visit_type_id",
    "team_id",
    "assigned_staff_id",
    "planned_at",
    "window_min",
    "duration_min",
    "channel",
)
Row = tuple[int, str, int, int, int, int | None, dt.datetime, int, int, str]


async def insert_visits(session: AsyncSession, rows: list[Row]) -> int:
    """Insert, skipping keys another process stored meanwhile; the number inserted."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        return await _insert_unnest(session, rows)
    return await _insert_many(session, rows)


# PostgreSQL: one statement per batch, the rows passed as one array per column. This is a
# single round trip with no per-row parameter processing, which is what generation at scale
# spends its time on otherwise (see docs/benchmarks.md).
_UNNEST_INSERT = text(
    "WITH ins AS ("
    " INSERT INTO visit (plan_id, occurrence_key, citizen_id, visit_type_id, team_id,"
    " assigned_staff_id, planned_at, window_min, duration_min, channel, status, attempts,"
    " created_at)"
    " SELECT t.*, :status, 0, CAST(:created_at AS TIMESTAMPTZ) FROM unnest("
    " CAST(:plan_id AS INTEGER[]), CAST(:occurrence_key AS VARCHAR[]),"
    " CAST(:citizen_id AS INTEGER[]), CAST(:visit_type_id AS INTEGER[]),"
    " CAST(:team_id AS INTEGER[]), CAST(:assigned_staff_id AS INTEGER[]),"
    " CAST(:planned_at AS TIMESTAMPTZ[]), CAST(:window_min AS INTEGER[]),"
    " CAST(:duration_min AS INTEGER[]), CAST(:channel AS VARCHAR[])) AS t"
    " ON CONFLICT (plan_id, occurrence_key) DO NOTHING RETURNING 1"
    ") SELECT count(*) FROM ins"
)


async def _insert_unnest(session: AsyncSession, rows: list[Row]) -> int:
    """PostgreSQL: insert with ON CONFLICT DO NOTHING from per-column arrays."""
    created = 0
    for first in range(0, len(rows), UNNEST_CHUNK):
        chunk = rows[first : first + UNNEST_CHUNK]
        params: dict[str, Any] = {
            name: list(column)
            for name, column in zip(COLUMNS, zip(*chunk, strict=True), strict=True)
        }
        params |= {"status": VisitStatus.PLANNED.value, "created_at": utcnow()}
        created += int(await session.scalar(_UNNEST_INSERT, params) or 0)
    return created


async def _insert_many(session: AsyncSession, rows: list[Row]) -> int:
    """SQLite: executemany with ON CONFLICT DO NOTHING, counting the returned ids."""
    table = Visit.__table__
    assert isinstance(table, Table)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["plan_id", "occurrence_key"])
        .returning(table.c.id)
    )
    fixed = {"status": VisitStatus.PLANNED, "attempts": 0, "created_at": utcnow()}
    created = 0
    for first in range(0, len(rows), INSERT_CHUNK):
        chunk = [
            dict(zip(COLUMNS, row, strict=True)) | fixed
            for row in rows[first : first + INSERT_CHUNK]
        ]
        result = await session.execute(statement, chunk)
        created += len(result.all())
    return created
