"""A new tablet is enrolled by pairing code, self-tests, and a revoked one asks for help."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.browser.conftest import screenshot
from tests.kiosk_web.conftest import KAREN, WAIT_MS, StaffHttp, wait_screen


async def test_enrol_by_pairing_code_then_start_and_self_test(
    browser: BrowserContext, server: TestServer, anna_http: StaffHttp
) -> None:
    """Code on the tablet → nurse enters it → "Tryk for at starte" → idle, self-test stored."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/kiosk/")))
    await wait_screen(page, "pairing")
    code_el = page.locator("#pairing-code[data-code]")
    await code_el.wait_for(timeout=WAIT_MS)
    code = await code_el.get_attribute("data-code")
    assert code is not None and len(code) == 6
    await screenshot(page, "kiosk-pairing")
    status, body = await anna_http.post(f"/api/citizens/{KAREN}/enrol", {"code": "000000"})
    assert (status, body["error"]["code"]) == (400, "pairing_code_invalid")
    status, body = await anna_http.post(f"/api/citizens/{KAREN}/enrol", {"code": code})
    assert status == 200, body
    await wait_screen(page, "start")
    await screenshot(page, "kiosk-start")
    await page.get_by_role("button", name="Tryk for at starte").click()
    await wait_screen(page, "idle")
    await page.wait_for_selector("body[data-selftest='ok']", timeout=30_000)
    status, body = await anna_http.get("/api/citizens/readiness")
    karen = next(c for c in body["citizens"] if c["citizen_id"] == int(KAREN))
    assert karen["online"] and karen["selftest"]["ok"] and karen["ready"], karen
    # The demo tablet of this citizen was replaced by the new one.
    await page.reload()
    await wait_screen(page, "idle")


async def test_demo_link_keeps_token_and_revoked_tablet_says_contact_home_care(
    browser: BrowserContext, server: TestServer, demo: Settings, anna_http: StaffHttp
) -> None:
    """The fragment token is kept, not shown; a revoked tablet asks for help and can re-enrol."""
    page = await browser.new_page()
    url = str(server.make_url("/kiosk/"))
    await page.goto(f"{url}#token={demo_kiosk_token(demo, 0)}")
    await page.get_by_role("button", name="Tryk for at starte").click()
    await wait_screen(page, "idle")
    assert page.url == url  # the token left the address bar
    await page.reload()
    await wait_screen(page, "idle")
    await page.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    status, body = await anna_http.post(f"/api/citizens/{KAREN}/kiosk/revoke", {})
    assert (status, body) == (200, {"revoked": 1})
    await wait_screen(page, "revoked")
    assert await page.get_by_role("heading", name="Kontakt hjemmeplejen").is_visible()
    assert "70 10 20 30" in await page.inner_text("#screen-revoked")  # Team Nord's phone
    await screenshot(page, "kiosk-revoked")
    await page.reload()  # still revoked after a reload: the same clear screen
    await wait_screen(page, "revoked")
    code = await page.locator("#revoked-code[data-code]").get_attribute("data-code")
    assert code is not None  # staff can connect it again from here
    status, body = await anna_http.post(f"/api/citizens/{KAREN}/enrol", {"code": code})
    assert status == 200, body
    await wait_screen(page, "start")
