"""A tablet is online from page load: the one-time tap only unlocks sound and the camera."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from kiosk.caller import StaffCaller
from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.kiosk_web.conftest import KAREN, WAIT_MS, StaffHttp, wait_screen


async def _untouched(browser: BrowserContext, server: TestServer, token: str) -> Page:
    """A tablet started for the first time in this browser (no tap yet), as after a power cut
    with a fresh profile or right after enrolment."""
    page = await browser.new_page()
    await page.add_init_script(f"localStorage.setItem('sv.deviceToken', {token!r});")
    await page.goto(str(server.make_url("/kiosk/")))
    return page


async def test_untouched_tablet_is_online_and_rings(
    browser: BrowserContext, server: TestServer, demo: Settings, anna_http: StaffHttp
) -> None:
    """Nobody taps "Tryk for at starte": the nurse still sees the tablet online and can ring it."""
    page = await _untouched(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(page, "start")
    await page.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    status, body = await anna_http.get("/api/citizens/readiness")
    assert status == 200
    karen = next(c for c in body["citizens"] if c["citizen_id"] == int(KAREN))
    assert karen["online"], karen
    async with StaffCaller(str(server.make_url("/"))) as nurse:
        await nurse.login("anna", "demo1234")
        await nurse.connect()
        await nurse.ring(KAREN)
        await wait_screen(page, "ringing")
        await nurse.cancel()
    await wait_screen(page, "idle")


async def test_revoked_tablet_says_so_before_any_tap(
    browser: BrowserContext, server: TestServer, demo: Settings, anna_http: StaffHttp
) -> None:
    """A revoked tablet shows "Kontakt hjemmeplejen" at once, not the friendly start button."""
    status, _ = await anna_http.post(f"/api/citizens/{KAREN}/kiosk/revoke", {})
    assert status == 200
    page = await _untouched(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(page, "revoked")
    assert await page.get_by_role("heading", name="Kontakt hjemmeplejen").is_visible()
    assert not await page.locator("#start-button").is_visible()
