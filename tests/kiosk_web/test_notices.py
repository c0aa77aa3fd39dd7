"""Item 8 of issue 12 in Chromium: the nurse presses "Forsinket ca. 10 min" in her day list,
Karen's idle tablet shows it with Anna's name within its poll time, the tablet reports it shown
and the nurse's row says "Borgeren har fået besked"."""

# ruff: noqa: F811  (the browser fixtures are imported by name from tests/browser/conftest.py)

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from server.settings import Settings
from tests.browser.conftest import browser, chromium_path, log_in, screenshot, server  # noqa: F401
from tests.kiosk_web.conftest import KAREN, WAIT_MS, add_visit_now, tablet_settings, wait_true


@pytest.fixture
def settings(db_url: str) -> Settings:
    """The tablet asks for its facts every second; no background jobs race the test."""
    return tablet_settings(db_url, kiosk_poll_s=1.0, scheduler_enabled=False)


async def test_notices_delay_from_the_day_list_shows_on_the_idle_tablet(
    tablet: Page, browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Forsinket ca. 10 min → the tablet's notice card (≥ 24 px, on a 1024x600 screen) → shown."""
    visit_id = await add_visit_now(demo, int(KAREN))
    await tablet.set_viewport_size({"width": 1024, "height": 600})
    console = await browser.new_page()
    await log_in(console, server, "anna")
    row = console.locator(f'tr[data-visit-id="{visit_id}"]')
    await row.get_by_role("button", name="Forsinket ca. 10 min").click()

    card = tablet.locator("#notice:not([hidden])")
    await card.wait_for(timeout=WAIT_MS)
    text = await tablet.locator("#notice-text").inner_text()
    assert text.startswith("Sygeplejerske Anna er forsinket ca. 10 minutter og ringer kl.")
    box = await card.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 600
    size = await tablet.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('notice-text')).fontSize)"
    )
    assert size >= 24
    await wait_true(tablet, "document.documentElement.scrollHeight <= window.innerHeight")
    await screenshot(tablet, "kiosk-notice-1024x600")

    told = console.locator(f'[data-delay-state="{visit_id}"]', has_text="Borgeren har fået besked")
    await told.wait_for(timeout=WAIT_MS)
    await screenshot(console, "calllist-delay-told")
