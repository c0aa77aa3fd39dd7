"""The console shows times in the organisation's zone, not the device's: a laptop set to New
York still reads 08:30 for an 08:30 visit in Copenhagen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, log_in

FORMATS = """async () => {
  const m = await import("/static/js/console.js");
  return {
    zone: document.documentElement.dataset.timeZone,
    device: Intl.DateTimeFormat().resolvedOptions().timeZone,
    winter: m.formatTime("2026-12-01T07:30:00Z"),
    summer: m.formatDateTime("2026-07-01T06:30:00Z"),
    midnight: m.formatDateTime("2026-12-31T23:30:00Z"),
    words: m.formatDate("2026-12-01T23:30:00Z"),
  };
}"""


@pytest.fixture
async def new_york(tmp_path: Path, chromium_path: str) -> AsyncIterator[BrowserContext]:
    """Chromium on a device whose clock is set to New York."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="da-DK",
            timezone_id="America/New_York",
        )
        try:
            yield context
        finally:
            await context.close()


async def test_console_formats_times_in_the_organisations_zone(
    new_york: BrowserContext, server: TestServer
) -> None:
    """console.js's helpers write Copenhagen wall-clock times whatever the device's zone."""
    page = await new_york.new_page()
    await log_in(page, server, "anna")
    shown = await page.evaluate(FORMATS)
    assert shown == {
        "zone": "Europe/Copenhagen",
        "device": "America/New_York",
        "winter": "08:30",
        "summer": "01.07.2026 08:30",
        "midnight": "01.01.2027 00:30",
        "words": "2. december 2026",
    }
