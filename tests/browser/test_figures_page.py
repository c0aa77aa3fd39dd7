"""A nurse opens the key-figures dashboard in Chromium and sees Chart.js charts of her team."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.demo import DEMO_SLUG
from server.demo_history import lay_out_demo_history
from server.settings import Settings
from tests.browser.conftest import screenshot

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "figures.png"


async def test_figures_page_draws_charts(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """After login the nav links to Nøgletal; the page draws five charts and a table, no errors."""
    # The demo's own past weeks (server/demo_history.py): the README's screenshot is the demo.
    await lay_out_demo_history(demo.database_url, DEMO_SLUG, demo.zone)
    page = await browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(server.make_url("/login?next=/figures")))
    await page.get_by_label("Brugernavn").fill("anna")
    await page.get_by_label("Adgangskode").fill("demo1234")
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_url("**/figures", timeout=15_000)
    await page.wait_for_selector("#figures[data-state='ready']", timeout=15_000)
    assert await page.get_by_role("link", name="Nøgletal").count() == 1
    drawn = await page.evaluate(
        "[...document.querySelectorAll('canvas')].map((c) => Boolean(window.Chart.getChart(c)))"
    )
    assert drawn == [True] * 5
    assert await page.locator("#figures-table tbody tr").count() == 8
    first_week = await page.locator("#figures-table tbody tr td").first.text_content() or ""
    assert first_week.startswith("uge ") and "W" not in first_week  # in the reader's words
    assert errors == []
    path = await screenshot(page, "figures")
    DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SHOT)
