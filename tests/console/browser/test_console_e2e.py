"""A nurse works through her list in Chromium while Karen's tablet is the headless kiosk agent."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page
from sqlalchemy import select

from kiosk.agent import AgentOptions, KioskAgent
from server.db import make_engine, make_sessionmaker
from server.demo import demo_kiosk_token
from server.keys import book_key
from server.models import InboxItem, InboxKind, Observation
from server.sealing import development_keyring
from server.settings import Settings
from tests.browser.axe import AXE, describe, serious_violations
from tests.browser.conftest import log_in, screenshot
from tests.console.seed import seed_today

WAIT_MS = 30_000
KAREN = 0  # demo citizen index 0: Karen, citizen id 1, Team Nord (anna is her contact person)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@contextlib.asynccontextmanager
async def karens_tablet(server: TestServer, settings: Settings) -> AsyncIterator[KioskAgent]:
    """Karen's tablet online as the kiosk agent, answering at once."""
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        options = AgentOptions(answer="always", answer_delay_s=0)
        agent = KioskAgent(http, base, demo_kiosk_token(settings, KAREN), options)
        task = asyncio.create_task(agent.run())
        try:
            async with asyncio.timeout(WAIT_MS / 1000):
                await agent.client.authenticated.wait()
            yield agent
        finally:
            await agent.stop()
            async with asyncio.timeout(WAIT_MS / 1000):
                await task


async def shot(page: Page, name: str) -> None:
    """A test artifact, copied to docs/screenshots for the README."""
    path = await screenshot(page, name)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / path.name)


async def no_serious_violations(page: Page) -> None:
    """axe-core finds nothing serious or critical on the page."""
    # Evaluated over CDP: the page's CSP (script-src 'self') blocks an injected <script> tag.
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    violations = await serious_violations(page)
    assert not violations, describe(violations)


async def test_console_call_document_and_see_list_update(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """List → one-click call → remote video → outcome + observations → row done, task made."""
    visits = await seed_today(demo)
    karen = visits["Karen"]
    async with karens_tablet(server, demo):
        page = await browser.new_page()
        await log_in(page, server, "anna")
        row = page.locator(f'tr[data-visit-id="{karen}"]')
        await row.locator('.presence[data-presence="online"]').wait_for(timeout=WAIT_MS)
        shown = await page.locator("tr[data-citizen-id]").evaluate_all(
            "rows => rows.map(r => Number(r.dataset.citizenId))"
        )
        assert shown and all(c % 2 == 1 for c in shown)  # Team Nord's citizens have odd ids
        await no_serious_violations(page)
        await shot(page, "console-calllist")

        watcher = await browser.new_page()  # a colleague's list, open during the whole call
        await watcher.goto(str(server.make_url("/")))
        await watcher.locator('#live-state[data-state="open"]').wait_for(timeout=WAIT_MS)

        await row.get_by_role("link", name="Ring op til Karen").click()
        await page.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
        await page.wait_for_function(
            "() => document.getElementById('remote-video').videoWidth > 0", timeout=WAIT_MS
        )
        await page.wait_for_function(
            "() => document.querySelector('#quality [data-q=\"route\"]').textContent !== '—'",
            timeout=WAIT_MS,
        )
        await no_serious_violations(page)
        await shot(page, "console-call")

        await page.get_by_role("button", name="Læg på").click()
        await page.locator('#callview[data-call-state="ended"]').wait_for(timeout=WAIT_MS)
        await page.get_by_label("Appetit").check()
        await page.get_by_label("Fritekst").fill("Spiste kun lidt morgenmad")
        await page.get_by_role("button", name="Omlagt til fysisk besøg").click()
        await page.get_by_label("Begrundelse").fill("Svimmel – skal ses i dag")
        await page.get_by_role("button", name="Gem udfald").click()
        saved = '#outcome[data-saved-kind="converted_to_physical"]'
        await page.locator(saved).wait_for(timeout=WAIT_MS)
        await shot(page, "console-outcome")

        done = watcher.locator(f'tr[data-visit-id="{karen}"][data-status="done"]')
        await done.wait_for(timeout=WAIT_MS)  # live, without a reload

    tasks, observations = await _written(demo)
    assert [(t.kind, t.visit_id) for t in tasks] == [(InboxKind.PHYSICAL_VISIT, karen)]
    assert {o.code.value for o in observations} == {"appetite", "other"}

    await page.goto(str(server.make_url("/citizens/1")))
    await page.get_by_text("Svimmel – skal ses i dag").first.wait_for(timeout=WAIT_MS)
    await no_serious_violations(page)
    await shot(page, "console-citizen")

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(str(server.make_url("/")))
    await page.locator("#calllist").wait_for(timeout=WAIT_MS)
    await shot(page, "console-calllist-phone")


async def _written(settings: Settings) -> tuple[list[InboxItem], list[Observation]]:
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            tasks = list(await session.scalars(select(InboxItem)))
            observations = list(await session.scalars(select(Observation)))
            return tasks, observations
    finally:
        await engine.dispose()


async def test_opening_or_reloading_the_call_page_never_rings(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Only a press of "Ring op" rings: a reload or a link from elsewhere shows the button."""
    page = await browser.new_page()
    await log_in(page, server, "anna")
    await page.goto(str(server.make_url("/call/1")))
    await page.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
    assert await server.app[book_key].call_of_citizen("1") is None  # nothing rang
    assert await page.get_by_role("button", name="Ring op").is_visible()


async def test_server_stopping_mid_call_tells_the_nurse_and_offers_ring_again(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """A graceful stop (SIGTERM) ends the call first: the nurse reads that the server went
    away (not that Karen hung up), and "Ring igen" is one press away."""
    async with karens_tablet(server, demo):
        page = await browser.new_page()
        await log_in(page, server, "anna")
        await page.goto(str(server.make_url("/call/1")))
        await page.get_by_role("button", name="Ring op").click()
        await page.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
        await server.app.shutdown()
        lost = '#callview[data-call-state="ended"][data-end-reason="server_lost"]'
        await page.locator(lost).wait_for(timeout=WAIT_MS)
        assert "Serveren blev genstartet" in await page.locator("#call-state").inner_text()
        assert await page.get_by_role("button", name="Ring igen").is_visible()
        await shot(page, "console-call-server-lost")
