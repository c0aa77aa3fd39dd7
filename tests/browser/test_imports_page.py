"""The imports page in Chromium: 5,000 rows import with a progress bar while a call goes on."""

# The fixtures are imported from the kiosk and browser conftests, so parameters named like
# them "redefine" the imports as far as ruff can tell.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from bench.import_healthz import export_csv
from kiosk.caller import StaffCaller
from server.demo import DEMO_PASSWORD
from tests.browser.conftest import browser, chromium_path, screenshot, server  # noqa: F401
from tests.kiosk_web.conftest import (  # noqa: F401  (fixtures)
    KAREN,
    nurse,
    settings,
    tablet,
    wait_screen,
    wait_true,
)

VIEWPORTS = ((1024, 600), (1366, 768), (390, 844))
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


async def planner_page(browser: BrowserContext, server: TestServer) -> Page:
    """Pia (planner) logged in through the form, on /imports."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/login")))
    await page.get_by_label("Brugernavn").fill("pia")
    await page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_load_state()
    await page.goto(str(server.make_url("/imports")))
    await page.wait_for_selector("#recent-rows tr")
    return page


async def progress_until_done(page: Page, nurse: StaffCaller) -> tuple[list[float], set[float]]:
    """Progress seen until the job is finished, and the nurse's ping round trips meanwhile."""
    values: list[float] = []
    round_trips: set[float] = set()
    async with asyncio.timeout(180):
        while await page.get_attribute("#import-job", "data-state") not in {
            "done",
            "rejected",
            "failed",
        }:
            values.append(float(await page.eval_on_selector("#job-progress", "p => p.value")))
            if nurse.client.rtt_s is not None:
                round_trips.add(nurse.client.rtt_s)
            await asyncio.sleep(0.2)  # noqa: ASYNC110  (sampling what the page shows)
    return values, round_trips


async def test_imports_page_5000_rows_progress_to_done_while_a_call_goes_on(
    browser: BrowserContext,
    server: TestServer,
    tablet: Page,
    nurse: StaffCaller,
    tmp_path: Path,
) -> None:
    """A planner imports 5,000 rows on /imports: the bar advances to done, the call carries on."""
    await nurse.ring(KAREN)
    await wait_screen(tablet, "ringing")
    await tablet.get_by_role("button", name="Svar").click()
    await wait_screen(tablet, "call")
    async with asyncio.timeout(30):
        await nurse.wait_call()
    page = await planner_page(browser, server)
    export = tmp_path / "eksport.csv"
    export.write_text(export_csv(1000), encoding="utf-8")
    await page.set_input_files("#import-file", str(export))
    await page.get_by_role("button", name="Importér").click()
    await page.wait_for_selector("#import-job:not([hidden])")
    values, round_trips = await progress_until_done(page, nurse)
    assert await page.get_attribute("#import-job", "data-state") == "done"
    assert any(0 < v < 100 for v in values), values  # it was seen on its way
    assert values == sorted(values)
    assert await page.eval_on_selector("#job-progress", "p => p.value") == 100
    assert "5.000 af 5.000 linjer" in await page.inner_text("#job-count")
    assert "1.000 borgere" in await page.inner_text("#job-summary")
    # The call carried on: the nurse's socket kept answering pings, nothing ended it.
    assert len(round_trips) >= 2 and not nurse.ended.is_set()
    assert await tablet.evaluate("document.body.dataset.screen") == "call"
    assert await tablet.evaluate("document.body.dataset.connection") == "open"
    # The citizens that cannot be rung yet are listed, and the import is in the recent list.
    assert await page.locator("#unreachable-list li").count() == 1000
    assert "eksport.csv" in await page.inner_text("#recent-rows")
    for width, height in VIEWPORTS:
        await page.set_viewport_size({"width": width, "height": height})
        assert await page.evaluate(NO_SIDEWAYS_SCROLL), (width, height)
    await screenshot(page, "imports-done")
    await nurse.hangup()
