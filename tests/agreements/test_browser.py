"""Today's agreement sheet in Chromium: on Karen's tablet, in the call view, on the citizen page."""

# The browser fixtures come from tests/browser/conftest.py; ruff sees their parameters as redefined.
# ruff: noqa: F811

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in, screenshot
from tests.kiosk_web.conftest import WAIT_MS, open_kiosk, wait_screen

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
INGER = 3  # demo citizen 3: Team Nord, no sheet yet
BOTTOM_IN_VIEW = (
    "() => document.getElementById('agreements').getBoundingClientRect().bottom"
    " <= window.innerHeight"
)


async def test_kiosk_idle_screen_shows_todays_sheet_large_and_accessible(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Karen's idle screen: "Aftaler i dag", what you do, what we do, the phone; ≥ 24 px; axe ok."""
    page = await open_kiosk(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(page, "idle")
    sheet = page.locator("#agreements")
    await sheet.wait_for(state="visible", timeout=WAIT_MS)
    text = await sheet.inner_text()
    for expected in ("Aftaler i dag", "Det gør du", "Det gør vi", "Ring til os:", "70 10 20 30"):
        assert expected in text
    assert "Du tager selv din medicin kl. 8" in text
    assert "Vi ses igen: " in text  # the demo sheet's follow-up, in words
    sizes = await page.evaluate(
        """() => [...document.querySelectorAll('#agreements *')]
            .filter((el) => el.offsetParent !== null && el.textContent.trim())
            .map((el) => parseFloat(getComputedStyle(el).fontSize))"""
    )
    assert sizes and min(sizes) >= 24, sizes
    assert await page.evaluate(BOTTOM_IN_VIEW), (
        "the sheet must be readable without scrolling on a 10-inch landscape tablet"
    )
    violations = await serious_violations(page)
    assert not violations, describe(violations)
    path = await screenshot(page, "kiosk-agreements")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / path.name)
    await page.set_viewport_size({"width": 800, "height": 1280})
    assert await page.evaluate(BOTTOM_IN_VIEW), "portrait: the sheet fits too"
    await screenshot(page, "kiosk-agreements-portrait")


async def test_call_view_shows_todays_sheet_beside_the_visits(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Anna calls Karen: the context box shows today's sheet, the visits are under "Besøg i dag"."""
    page = await browser.new_page()
    await log_in(page, server, "anna")
    await page.goto(str(server.make_url("/call/1")))
    box = page.locator("#agreements")
    await box.wait_for(timeout=WAIT_MS)
    text = await box.inner_text()
    assert "Aftaler i dag" in text and "Jeg vil gerne selv tage min medicin" in text
    assert "Vi ringer til dig kl. 8 og kl. 15" in text and "70 10 20 30" in text
    assert "Seneste aftaleark" not in text  # it is today's
    assert await page.get_by_role("heading", name="Besøg i dag").count() == 1
    await screenshot(page, "console-call-agreements")


async def test_nurse_writes_a_sheet_on_the_citizen_page(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """The form on /citizens/{id} saves a sheet (team phone by default) and the page lists it."""
    page = await browser.new_page()
    await log_in(page, server, "anna")
    await page.goto(str(server.make_url(f"/citizens/{INGER}")))
    assert "Intet aftaleark endnu." in await page.locator("#agreements").inner_text()
    await page.get_by_text("Skriv aftaleark efter et møde").click()
    await page.get_by_label("Deltagere").fill("Inger Madsen\nIngers datter\nAnna Jensen")
    await page.get_by_label("Borgerens egne ord").fill("Jeg vil helst have besøg om formiddagen.")
    await page.get_by_label("Pårørende sagde").fill("Datteren kommer om søndagen.")
    await page.get_by_label("Det gør borgeren").fill("Du svarer, når skærmen ringer kl. 7.30.")
    await page.get_by_label("Det gør kommunen").fill("Vi vækker dig hver morgen på skærmen.")
    async with page.expect_navigation(timeout=WAIT_MS):
        await page.get_by_role("button", name="Gem aftaleark").click()
    listed = page.locator("#agreements .agreement-sheet")
    await listed.first.wait_for(timeout=WAIT_MS)
    text = await listed.first.inner_text()
    assert "Jeg vil helst have besøg om formiddagen." in text
    assert "Datteren kommer om søndagen." in text and "70 10 20 30" in text
    await screenshot(page, "console-citizen-agreements")
