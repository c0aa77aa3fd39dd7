"""Shared fixtures: migrated databases on SQLite and PostgreSQL, the real app, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aioice.ice
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.demo import DEMO_PASSWORD, seed_demo
from server.settings import Settings
from tests import databases

ClientFactory = Callable[
    [web.Application | TestServer], Awaitable[TestClient[web.Request, web.Application]]
]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session."""
    return databases.make_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """One migrated PostgreSQL template database per session (None when unreachable)."""
    template = databases.make_pg_template()
    yield template
    if template is not None:
        databases.drop_pg_template()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def both_backends(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_template: str | None
) -> AsyncIterator[str]:
    """A fresh migrated database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield databases.copy_sqlite(sqlite_template, tmp_path / "test.db")
        return
    async with databases.private_pg(pg_template) as url:
        yield url


@pytest.fixture
async def postgres_only(pg_template: str | None) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database URL (for tests of production behaviour only)."""
    async with databases.private_pg(pg_template) as url:
        yield url


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh migrated SQLite database (modules override this with ``both_backends``)."""
    return databases.copy_sqlite(sqlite_template, tmp_path / "test.db")


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for one test: its own database, quick throttling, known secret."""
    return Settings(
        database_url=db_url,
        secret_key="test-secret",
        login_delay_after=3,
        login_lockout_after=5,
        # Background jobs would race each test's own steps; tests drive them directly, and
        # tests/scheduling/test_jobs_ctx.py runs them for real.
        scheduler_enabled=False,
    )


@pytest.fixture
async def demo(settings: Settings) -> Settings:
    """The demo organisation seeded into the test database."""
    await seed_demo(settings)
    return settings


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings) -> Client:
    """The real app on a loopback port, with its cleanup contexts run for real."""
    return await aiohttp_client(create_app(settings))


def csrf_from(html: str) -> str:
    """The CSRF token a page embeds in its forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def login_response(
    client: Client, username: str, password: str = DEMO_PASSWORD
) -> ClientResponse:
    """Log in through the real form; the response (303 on success)."""
    page = await client.get("/login")
    token = csrf_from(await page.text())
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    return response


async def login(client: Client, username: str, password: str = DEMO_PASSWORD) -> int:
    """Log in through the real form; returns the response status (303 on success)."""
    return (await login_response(client, username, password)).status


@pytest.fixture
def loopback_only_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep ICE on 127.0.0.1: aioice skips loopback when it lists host addresses."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that drives Chromium ``browser``, so ``-m "not browser"`` skips them all."""
    for item in items:
        if "chromium_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
