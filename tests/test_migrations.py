"""Migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from server.db import make_engine
from server.models import Base


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
