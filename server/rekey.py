"""Sealed values in the database as a whole: re-sealing under the active key, which key ids are
in use, and the start-up check that every one of them is configured.

These work on the stored text (plain ``Text`` columns, not ``SealedText``), so they see exactly
what is on disk, and they walk each table by id in batches, one transaction per batch: a long
rotation never holds a lock on a whole table, and an interrupted one is simply run again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .models import Base
from .sealing import DEVELOPMENT_KEY_ID, Keyring, SealedColumn, sealed_columns, sealed_parts

BATCH = 500


@dataclass(slots=True)
class RotateReport:
    """What ``rotate`` did, over every sealed column."""

    sealed: int = 0  # plaintext values sealed for the first time
    resealed: int = 0  # values moved from an older key to the active one
    current: int = 0  # values already under the active key, left alone
    changed_meanwhile: int = 0  # values the app rewrote during the run (already current)
    columns: Counter[str] = field(default_factory=Counter)  # values touched, per field


def _raw(column: SealedColumn) -> tuple[sa.TableClause, sa.ColumnClause[int], sa.ColumnClause[str]]:
    ident = sa.column("id", sa.Integer)
    value = sa.column(column.column, sa.Text)
    return sa.table(column.table, ident, value), ident, value


async def rotate(
    engine: AsyncEngine,
    keyring: Keyring,
    columns: Iterable[SealedColumn] | None = None,
    batch: int = BATCH,
) -> RotateReport:
    """Seal every value not yet under the active key (plaintext or an older key). Idempotent."""
    report = RotateReport()
    for column in columns if columns is not None else sealed_columns(Base.metadata):
        last = 0
        while True:
            async with engine.begin() as conn:
                rows = await _batch(conn, column, last, batch)
                for row_id, stored in rows:
                    await _reseal(conn, column, keyring, row_id, stored, report)
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return report


async def _batch(
    conn: AsyncConnection, column: SealedColumn, after: int, size: int
) -> list[tuple[int, str]]:
    table, ident, value = _raw(column)
    result = await conn.execute(
        sa.select(ident, value)
        .select_from(table)
        .where(ident > after, value.is_not(None))
        .order_by(ident)
        .limit(size)
    )
    return [(row[0], row[1]) for row in result]


async def _reseal(
    conn: AsyncConnection,
    column: SealedColumn,
    keyring: Keyring,
    row_id: int,
    stored: str,
    report: RotateReport,
) -> None:
    if keyring.is_current(stored):
        report.current += 1
        return
    fresh = keyring.seal(keyring.open(stored, column.where), column.where)
    table, ident, value = _raw(column)
    # Only if the value is still what we read: the app may have rewritten it meanwhile (then
    # under the active key already, if it was restarted with the new key file).
    done = await conn.execute(
        sa.update(table).where(ident == row_id, value == stored).values({column.column: fresh})
    )
    if done.rowcount == 0:
        report.changed_meanwhile += 1
        return
    if sealed_parts(stored) is None:
        report.sealed += 1
    else:
        report.resealed += 1
    report.columns[column.where] += 1


async def key_ids_in_use(engine: AsyncEngine) -> dict[str, int]:
    """How many stored values each key id seals (``""`` counts plaintext values)."""
    counts: Counter[str] = Counter()
    for column in sealed_columns(Base.metadata):
        last = 0
        while True:
            async with engine.connect() as conn:
                rows = await _batch(conn, column, last, BATCH * 4)
            for _row_id, stored in rows:
                parts = sealed_parts(stored)
                counts[parts[0] if parts else ""] += 1
            if len(rows) < BATCH * 4:
                break
            last = rows[-1][0]
    return dict(counts)


async def missing_keys(engine: AsyncEngine, keyring: Keyring) -> list[str]:
    """Key ids that seal some stored value but are not in the keyring (the start-up check).

    Asks the database for one value under a key id not yet known, per column, until there is
    none: a scan per column and missing id, not a read of every value into the process."""
    known = set(keyring.keys) | {DEVELOPMENT_KEY_ID}  # a public key: every keyring opens it
    missing: set[str] = set()
    async with engine.connect() as conn:
        for column in sealed_columns(Base.metadata):
            while (key_id := await _unknown_key(conn, column, known | missing)) is not None:
                missing.add(key_id)
    return sorted(missing)


async def _unknown_key(conn: AsyncConnection, column: SealedColumn, known: set[str]) -> str | None:
    table, _ident, value = _raw(column)
    prefixes = [value.like(f"v1:{_escape(k)}:%", escape="\\") for k in sorted(known)]
    condition: sa.ColumnElement[bool] = value.like("v1:%")
    if prefixes:
        condition = sa.and_(condition, sa.not_(sa.or_(*prefixes)))
    stored = await conn.scalar(sa.select(value).select_from(table).where(condition).limit(1))
    parts = sealed_parts(stored) if stored is not None else None
    return parts[0] if parts is not None else None


def _escape(key_id: str) -> str:
    return key_id.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
