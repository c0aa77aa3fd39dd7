"""The tablet's clock shows the organisation's wall time, whatever zone the device is set to."""

from __future__ import annotations

import datetime as dt

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.kiosk_web.conftest import WAIT_MS, wait_screen, wait_true


async def test_clock_follows_the_organisation_zone(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """A tablet set to Tokyo time shows the Copenhagen time its visits are planned in."""
    page = await browser.new_page()
    cdp = await browser.new_cdp_session(page)
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    token = demo_kiosk_token(demo, 0)
    started = "localStorage.setItem('sv.started', '1');"
    await page.add_init_script(f"{started} localStorage.setItem('sv.deviceToken', {token!r});")
    await page.goto(str(server.make_url("/kiosk/")))
    await wait_screen(page, "idle")
    assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Tokyo"
    await wait_true(page, "localStorage.getItem('sv.timeZone') === 'Europe/Copenhagen'")
    now = dt.datetime.now(demo.zone)
    expected = {
        f"{t:%H:%M}" for t in (now - dt.timedelta(minutes=1), now, now + dt.timedelta(minutes=1))
    }
    clock = await page.locator("#clock").text_content(timeout=WAIT_MS)
    assert clock in expected
