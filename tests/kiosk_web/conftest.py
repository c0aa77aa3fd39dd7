"""Fixtures for the browser kiosk: a tablet page in Chromium, a logged-in nurse, staff HTTP."""

# The browser fixtures are imported from tests/browser/conftest.py, so parameters named like
# them "redefine" the imports as far as ruff can tell.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from kiosk.caller import StaffCaller
from server.db import make_engine
from server.demo import DEMO_PASSWORD, demo_kiosk_token
from server.models import Channel, Citizen, Staff, Visit, VisitType, utcnow
from server.sealing import development_keyring
from server.settings import Settings
from tests.browser.conftest import browser, chromium_path, server  # noqa: F401  (fixtures)

KAREN = "1"  # demo citizen index 0: Team Nord, contact person anna, auto-answer consent
WAIT_MS = 20_000
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def tablet_settings(db_url: str, **changes: Any) -> Settings:
    """Settings for a test with a web tablet: quick liveness (2 s pings), and ``changes``."""
    return Settings(database_url=db_url, secret_key="test-secret", ws_heartbeat_s=2.0, **changes)


@pytest.fixture
def settings(db_url: str) -> Settings:
    """A short auto-answer countdown for the tablet tests."""
    return tablet_settings(db_url, auto_answer_after_s=3)


async def open_kiosk(browser: BrowserContext, server: TestServer, token: str | None) -> Page:
    """A tablet that has its token and has had its one-time "Tryk for at starte"."""
    page = await browser.new_page()
    # Shown by pytest when a test fails: the tablet's own view of what went wrong.
    page.on("console", lambda msg: print(f"[kiosk console] {msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: print(f"[kiosk error] {exc}"))
    script = "localStorage.setItem('sv.started', '1');"
    if token:
        script += f"localStorage.setItem('sv.deviceToken', {token!r});"
    await page.add_init_script(script)
    await page.goto(str(server.make_url("/kiosk/")))
    return page


async def wait_screen(page: Page, name: str, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the tablet shows screen ``name``."""
    await page.wait_for_selector(f"body[data-screen='{name}']", timeout=timeout_ms)


async def wait_true(page: Page, expression: str, timeout_s: float = WAIT_MS / 1000) -> None:
    """Poll a JS expression until truthy (wait_for_function would need CSP 'unsafe-eval')."""
    async with asyncio.timeout(timeout_s):
        while not await page.evaluate(expression):  # noqa: ASYNC110  (the browser has no Event for us)
            await asyncio.sleep(0.1)


@pytest.fixture
async def tablet(browser: BrowserContext, server: TestServer, demo: Settings) -> Page:
    """Karen's tablet, enrolled with the demo token, on its idle screen and online."""
    page = await open_kiosk(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(page, "idle")
    await page.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    return page


@pytest.fixture
async def nurse(server: TestServer) -> AsyncIterator[StaffCaller]:
    """Anna (Team Nord) logged in with her signalling socket open."""
    async with StaffCaller(str(server.make_url("/"))) as caller:
        await caller.login("anna", DEMO_PASSWORD)
        await caller.connect()
        yield caller


class StaffHttp:
    """A logged-in staff member's HTTP session that sends the CSRF header on POSTs."""

    def __init__(self, server: TestServer, http: aiohttp.ClientSession, csrf: str) -> None:
        self.server = server
        self.http = http
        self.csrf = csrf

    async def post(self, path: str, body: object) -> tuple[int, dict[str, Any]]:
        """POST JSON; the status and the decoded body."""
        async with self.http.post(
            self.server.make_url(path), json=body, headers={"X-CSRF-Token": self.csrf}
        ) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        """GET JSON; the status and the decoded body."""
        async with self.http.get(self.server.make_url(path)) as response:
            return response.status, await response.json()


@pytest.fixture
async def anna_http(server: TestServer) -> AsyncIterator[StaffHttp]:
    """Anna's browser-like HTTP session (cookie + CSRF token from her start page)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        caller = StaffCaller(str(server.make_url("/")), http=http)
        await caller.login("anna", DEMO_PASSWORD)
        async with http.get(server.make_url("/")) as page:
            match = _CSRF_META.search(await page.text())
        assert match, "start page has no csrf-token meta"
        yield StaffHttp(server, http, match.group(1))


async def add_visit_now(settings: Settings, citizen_id: int, code: str = "medication") -> int:
    """A screen visit for the citizen planned right now (in its window), assigned to Anna."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with async_sessionmaker(engine).begin() as session:
            vtype = await session.scalar(select(VisitType).where(VisitType.code == code))
            citizen = await session.get(Citizen, citizen_id)
            anna = await session.scalar(select(Staff).where(Staff.username == "anna"))
            assert vtype is not None and citizen is not None and anna is not None
            visit = Visit(
                citizen_id=citizen_id,
                visit_type_id=vtype.id,
                team_id=citizen.team_id,
                assigned_staff_id=anna.id,
                planned_at=utcnow() + dt.timedelta(minutes=1),
                channel=Channel.SCREEN,
            )
            session.add(visit)
            await session.flush()
            return visit.id
    finally:
        await engine.dispose()
