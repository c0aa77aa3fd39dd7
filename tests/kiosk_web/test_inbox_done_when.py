"""Issue 10's "done when", in Chromium: Karen presses "Ring til mig" on her tablet while no
console is open; a nurse who logs in afterwards finds it in the team's inbox, rings back with
one press, talks, hangs up, sees why the call ended, documents and marks the request done; a
colleague sees it done."""

# ruff: noqa: F811  (the browser fixtures are imported by name from tests/browser/conftest.py)

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from server.settings import Settings
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import browser, chromium_path, log_in, server  # noqa: F401
from tests.console.browser.test_console_e2e import shot
from tests.kiosk_web.conftest import StaffHttp, wait_screen

WAIT_MS = 20_000
SIZES = {"tablet": (1024, 600), "laptop": (1366, 768), "phone": (390, 844)}


async def test_ring_til_mig_is_answered_from_the_inbox_and_done(
    tablet: Page,
    browser: BrowserContext,
    server: TestServer,
    demo: Settings,
    anna_http: StaffHttp,
) -> None:
    """Ring til mig → inbox after login → Ring op (takes it) → call → why it ended → done."""
    await tablet.get_by_role("button", name="Ring til mig").click()
    await tablet.get_by_text("Hjemmeplejen har fået besked").first.wait_for(timeout=WAIT_MS)

    console = await browser.new_page()
    await log_in(console, server, "anna")  # logs in after the press: nothing was pushed to her
    item = console.locator('#inbox .inbox-item[data-kind="call_back_request"]')
    await item.wait_for(timeout=WAIT_MS)
    assert "Karen" in await item.inner_text()
    badge = console.locator("[data-inbox-badge]:not([hidden])")
    await badge.wait_for(timeout=WAIT_MS)
    assert int((await badge.inner_text()).strip() or 0) >= 1
    for name, (width, height) in SIZES.items():
        await console.set_viewport_size({"width": width, "height": height})
        await shot(console, f"console-inbox-{name}")
    violations = await serious_violations(console)
    assert not violations, describe(violations)
    await console.set_viewport_size({"width": 1366, "height": 768})

    item_id = await item.get_attribute("data-item-id")
    await item.get_by_role("link", name="Ring op til Karen Sørensen").click()
    await wait_screen(tablet, "ringing")
    _, shown = await anna_http.get(f"/api/inbox/{item_id}")
    assert shown["item"]["state"] == "taken" and shown["item"]["taken_by_name"] == "Anna Jensen"
    await tablet.get_by_role("button", name="Svar").click()
    await console.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
    await tablet.get_by_role("button", name="Læg på").click()  # Karen says goodbye first

    ended = console.locator('#callview[data-call-state="ended"][data-end-reason="hangup_citizen"]')
    await ended.wait_for(timeout=WAIT_MS)
    assert "Borgeren lagde på" in await console.locator("#call-state").inner_text()
    assert await console.get_by_role("button", name="Ring igen").is_visible()
    _, before = await anna_http.get("/api/inbox/summary")
    await console.get_by_label("Hvad blev gjort? (valgfrit)").fill("Ringede tilbage, alt vel")
    await console.get_by_role("button", name="Markér som færdig").click()
    await (
        console.locator("[data-inbox-result]")
        .get_by_text("Markeret som færdig")
        .wait_for(timeout=WAIT_MS)
    )
    left = before["active"] - 1  # the header's count follows at once
    shown_badge = (
        "[data-inbox-badge][hidden]" if left == 0 else f"[data-inbox-badge]:text-is('{left}')"
    )
    await console.locator(shown_badge).wait_for(state="attached", timeout=WAIT_MS)
    await shot(console, "console-call-ended")

    _, after = await anna_http.get(f"/api/inbox/{item_id}")
    assert after["item"]["state"] == "done" and after["item"]["note"] == "Ringede tilbage, alt vel"
    actions = [entry["action"] for entry in after["history"]]
    assert actions[:1] == ["inbox.take"] and "inbox.done" in actions
