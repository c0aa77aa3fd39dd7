"""Run Alembic migrations from code (CLI, start-up, tests) on the app's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from .db import make_engine
from .sealing import Keyring
from .settings import PROJECT_DIR


def alembic_config(database_url: str) -> Config:
    """Alembic configuration pointing at our migrations, with the URL passed directly."""
    config = Config(str(PROJECT_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    config.attributes["database_url"] = database_url
    return config


async def upgrade(
    database_url: str, revision: str = "head", *, keyring: Keyring | None = None
) -> None:
    """Bring the database to ``revision`` (creating the SQLite file's folder if needed). With a
    keyring, migrations that seal or open stored values (0017) can do so."""
    _ensure_sqlite_dir(database_url)
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    config.attributes["keyring"] = keyring
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, config, revision)
    finally:
        await engine.dispose()


async def downgrade(database_url: str, revision: str, *, keyring: Keyring | None = None) -> None:
    """Take the database back to ``revision`` (tests, and an operator undoing a release)."""
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    config.attributes["keyring"] = keyring
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_downgrade, config, revision)
    finally:
        await engine.dispose()


def _run_downgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _run_upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _ensure_sqlite_dir(database_url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
