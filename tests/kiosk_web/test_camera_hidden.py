"""The nurse is told when the citizen hides her picture, instead of seeing a black box."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from tests.browser.conftest import log_in
from tests.kiosk_web.conftest import WAIT_MS, wait_screen


async def test_nurse_sees_camera_hidden_note_and_it_goes_when_shown(
    tablet: Page, browser: BrowserContext, server: TestServer
) -> None:
    """Karen presses "Skjul mit billede": Anna's call view says so; showing it again clears it."""
    console = await browser.new_page()
    await log_in(console, server, "anna")
    await console.goto(str(server.make_url("/call/1")))
    await console.get_by_role("button", name="Ring op").click()
    await wait_screen(tablet, "ringing")
    await tablet.get_by_role("button", name="Svar").click()
    await console.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
    await console.locator('#callview[data-remote-camera="shown"]').wait_for(timeout=WAIT_MS)
    await tablet.get_by_role("button", name="Skjul mit billede").click()
    note = console.locator("#remote-camera-off")
    await note.wait_for(state="visible", timeout=WAIT_MS)
    assert "skjult sit billede" in await note.inner_text()
    await tablet.get_by_role("button", name="Vis mit billede").click()
    await note.wait_for(state="hidden", timeout=WAIT_MS)
    await console.get_by_role("button", name="Læg på").click()
    await wait_screen(tablet, "idle")
