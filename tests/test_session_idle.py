"""Staff sessions end after SESSION_IDLE_MINUTES without use; an open console socket is use;
a password change ends the person's other sessions."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from server.app import _console_sessions, create_app
from server.auth.idle import keep_sockets_alive
from server.auth.sessions import change_password
from server.cli import set_password
from server.keys import sessionmaker_key
from server.models import Staff, StaffSession, utcnow
from server.security import hash_password
from server.settings import Settings
from tests.conftest import Client, ClientFactory, login
from tests.signaling.wsclient import staff_socket
from tests.test_cli import cli_env, run_cli  # noqa: F401  (fixture)

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Run on both backends (PostgreSQL keeps times with their zone)."""
    return both_backends


async def only_session(client: Client) -> StaffSession:
    """The one login session in the database."""
    async with client.app[sessionmaker_key]() as session:
        return (await session.scalars(select(StaffSession))).one()


async def set_session(client: Client, session_id: int, **values: dt.datetime) -> None:
    """Move a session's times, as if minutes had passed."""
    async with client.app[sessionmaker_key].begin() as session:
        await session.execute(
            update(StaffSession).where(StaffSession.id == session_id).values(**values)
        )


def near(moment: dt.datetime, expected: dt.datetime) -> bool:
    """Within a few seconds of each other (the request took some time)."""
    return abs(moment - expected) < dt.timedelta(seconds=10)


async def test_a_session_unused_for_the_idle_limit_ends(demo: Settings, client: Client) -> None:
    """A fresh session lives 30 minutes, not the 12 hours; a request moves that forward; with
    no request for the limit the next one goes to the login page."""
    assert await login(client, "anna") == 303
    row = await only_session(client)
    assert near(row.expires_at, utcnow() + 30 * MINUTE)
    await set_session(client, row.id, expires_at=utcnow() + 5 * MINUTE)  # 25 minutes idle
    assert (await client.get("/api/citizens")).status == 200
    assert near((await only_session(client)).expires_at, utcnow() + 30 * MINUTE)
    await set_session(client, row.id, expires_at=utcnow() - dt.timedelta(seconds=1))
    assert (await client.get("/api/citizens")).status == 401
    page = await client.get("/", allow_redirects=False)
    assert page.status in (302, 303) and page.headers["Location"].startswith("/login")


async def test_use_never_stretches_a_session_past_its_lifetime(
    demo: Settings, client: Client
) -> None:
    """Eleven hours fifty in, a request leaves ten minutes: the 12-hour limit holds."""
    assert await login(client, "anna") == 303
    row = await only_session(client)
    created = utcnow() - dt.timedelta(hours=11, minutes=50)
    await set_session(client, row.id, created_at=created, expires_at=utcnow() + 2 * MINUTE)
    assert (await client.get("/api/citizens")).status == 200
    assert near((await only_session(client)).expires_at, created + dt.timedelta(hours=12))


async def test_an_open_console_socket_counts_as_use(demo: Settings, client: Client) -> None:
    """A nurse in a long call makes no request; her socket keeps the session. A session whose
    socket is gone is not kept."""
    sock = await staff_socket(client, "anna")
    row = await only_session(client)
    assert _console_sessions(client.app) == {row.id}
    await set_session(client, row.id, expires_at=utcnow() + 2 * MINUTE)
    assert await keep_sockets_alive(client.app, _console_sessions) == 1
    assert near((await only_session(client)).expires_at, utcnow() + 30 * MINUTE)
    await sock.ws.close()
    for _ in range(100):  # the server forgets the socket once it has seen the close
        if not _console_sessions(client.app):
            break
        await asyncio.sleep(0.02)
    await set_session(client, row.id, expires_at=utcnow() + 2 * MINUTE)
    assert await keep_sockets_alive(client.app, _console_sessions) == 0
    assert near((await only_session(client)).expires_at, utcnow() + 2 * MINUTE)


@pytest.fixture
async def no_idle_client(aiohttp_client: ClientFactory, settings: Settings) -> Client:
    """The app with the idle limit turned off (0)."""
    return await aiohttp_client(create_app(dataclasses.replace(settings, session_idle_minutes=0)))


async def test_an_idle_limit_of_zero_keeps_the_lifetime(
    demo: Settings, no_idle_client: Client
) -> None:
    assert await login(no_idle_client, "anna") == 303
    row = await only_session(no_idle_client)
    assert near(row.expires_at, row.created_at + dt.timedelta(hours=12))


async def test_a_password_change_ends_the_other_sessions(
    demo: Settings, client: Client, aiohttp_client: ClientFactory
) -> None:
    """The person who changed it stays signed in; her other browsers are signed out."""
    assert await login(client, "anna") == 303
    assert isinstance(client.server, TestServer)
    other = await aiohttp_client(client.server)
    assert await login(other, "anna") == 303
    async with client.app[sessionmaker_key]() as session:
        rows = list(await session.scalars(select(StaffSession).order_by(StaffSession.id)))
    assert len(rows) == 2
    async with client.app[sessionmaker_key].begin() as session:
        anna = await session.get(Staff, rows[0].staff_id)
        assert anna is not None
        new_hash = hash_password("a-new-password")
        await change_password(session, anna, new_hash, keep_session_id=rows[0].id)
    assert (await client.get("/api/citizens")).status == 200
    assert (await other.get("/api/citizens")).status == 401


async def test_set_password_from_the_command_line_ends_every_session(
    demo: Settings, client: Client
) -> None:
    """An operator's reset (``screenvisit set-password``): the old cookie stops working, the
    new password signs in, the old one does not; an unknown person is said to be unknown."""
    assert await login(client, "anna") == 303
    assert await set_password(demo.database_url, "demo", "anna", "a-new-password")
    assert (await client.get("/api/citizens")).status == 401
    assert await login(client, "anna") != 303
    assert await login(client, "anna", "a-new-password") == 303
    assert not await set_password(demo.database_url, "demo", "nobody", "a-new-password")


def test_set_password_command(cli_env: dict[str, str]) -> None:  # noqa: F811
    """The command as an operator runs it: a short password is refused, an unknown person
    named, a known one reset."""
    assert run_cli("migrate", env=cli_env).returncode == 0
    assert run_cli("seed-demo", env=cli_env).returncode == 0
    short = run_cli("set-password", "anna", "--password-stdin", env=cli_env, stdin="short\n")
    assert short.returncode == 2 and "10 characters" in short.stderr
    args = ("set-password", "--password-stdin")
    unknown = run_cli(*args, "nobody", env=cli_env, stdin="long-enough-1\n")
    assert unknown.returncode == 2 and "'nobody'" in unknown.stderr
    done = run_cli(*args, "anna", env=cli_env, stdin="long-enough-1\n")
    assert done.returncode == 0 and "every session of 'anna' is ended" in done.stdout
