"""Migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from server.db import make_engine
from server.migrate import downgrade, upgrade
from server.models import Base
from tests import databases


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Run on both backends."""
    return both_backends


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_upgrade_head_equals_models(db_url: str) -> None:
    """After `upgrade head` the tables equal Base.metadata and autogenerate finds no difference."""
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert tables - {"alembic_version"} == set(Base.metadata.tables)
    assert diff == []


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


STAFF = (
    "INSERT INTO staff (id, organisation_id, username, display_name, role, password_hash,"
    " language, active, created_at) VALUES ({id}, {org}, 'anje', 'Anne', 'nurse', 'x', 'da',"
    " true, '2026-01-01 00:00:00')"
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_usernames_per_organisation_migrate_a_database_in_use(
    backend: str, tmp_path: Path, pg_template: str | None
) -> None:
    """0018 rebuilds the staff table under rows that point at it (sessions, teams) on SQLite
    with foreign keys on, and back: nothing is lost, and afterwards two organisations may
    share a username."""
    async with databases.empty_database(backend, tmp_path, pg_template) as url:
        await upgrade(url, "0017")
        await _rows(
            url,
            "INSERT INTO organisation (id, slug, name, settings, created_at) VALUES"
            " (1, 'a', 'A', '{}', '2026-01-01'), (2, 'b', 'B', '{}', '2026-01-01')",
        )
        await _rows(url, "INSERT INTO team (id, organisation_id, name) VALUES (1, 1, 'T')")
        await _rows(url, STAFF.format(id=1, org=1))
        await _rows(url, "INSERT INTO team_membership (staff_id, team_id) VALUES (1, 1)")
        await upgrade(url, "head")
        await _rows(url, STAFF.format(id=2, org=2))  # the same username, another organisation
        assert await _rows(url, "SELECT staff_id FROM team_membership") == [(1,)]
        await _rows(url, "DELETE FROM staff WHERE id = 2")
        await downgrade(url, "0017")
        await upgrade(url, "head")
        assert await _rows(url, "SELECT id, username FROM staff") == [(1, "anje")]
