"""Run Alembic migrations from code (CLI, start-up, tests) on the app's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from .db import make_engine
from .settings import PROJECT_DIR


def alembic_config(database_url: str) -> Config:
    """Alembic configuration pointing at our migrations, with the URL passed directly."""
    config = Config(str(PROJECT_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    config.attributes["database_url"] = database_url
    return config


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (creating the SQLite file's folder if needed)."""
    _ensure_sqlite_dir(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, alembic_config(database_url), revision)
    finally:
        await engine.dispose()


def _run_upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _ensure_sqlite_dir(database_url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
