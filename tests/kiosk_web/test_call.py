"""A nurse calls the citizen's tablet in Chromium: ring, answer, video, hide camera, hang up."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from kiosk.caller import StaffCaller
from server.settings import Settings
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import screenshot
from tests.kiosk_web.conftest import KAREN, add_visit_now, wait_screen, wait_true

VIDEO_PLAYING = "document.querySelector('#remote-video').videoWidth > 0"


async def test_ring_answer_shows_remote_video_hide_camera_and_hang_up(
    tablet: Page, nurse: StaffCaller
) -> None:
    """Svar shows the nurse's video large; Skjul mit billede stops our picture; Læg på ends."""
    await screenshot(tablet, "kiosk-idle")
    assert not await serious_violations(tablet), describe(await serious_violations(tablet))
    await nurse.ring(KAREN)
    await wait_screen(tablet, "ringing")
    assert "Anna Jensen" in await tablet.inner_text("#screen-ringing")
    assert await tablet.is_hidden("#auto-answer")  # no visit, no consent: no countdown
    await screenshot(tablet, "kiosk-ringing")
    await tablet.set_viewport_size({"width": 800, "height": 1280})  # a 10" tablet upright
    assert await tablet.get_by_role("button", name="Afvis").is_visible()
    await screenshot(tablet, "kiosk-ringing-portrait")
    await tablet.set_viewport_size({"width": 1280, "height": 800})
    violations = await serious_violations(tablet)
    assert not violations, describe(violations)
    await tablet.get_by_role("button", name="Svar").click()
    await wait_screen(tablet, "call")
    await wait_true(tablet, VIDEO_PLAYING)
    await tablet.wait_for_selector("#camera-live", state="visible")
    async with asyncio.timeout(20):
        call = await nurse.wait_call()
        await call.peers.wait_video()
    await screenshot(tablet, "kiosk-call")
    violations = await serious_violations(tablet)
    assert not violations, describe(violations)
    await tablet.get_by_role("button", name="Skjul mit billede").click()
    await tablet.wait_for_selector("body[data-camera='off']")
    assert await tablet.is_visible("text=Dit billede er skjult")
    await tablet.get_by_role("button", name="Vis mit billede").click()
    await tablet.wait_for_selector("body[data-camera='live']")
    await tablet.get_by_role("button", name="Læg på").click()
    await wait_screen(tablet, "idle")
    async with asyncio.timeout(10):
        await nurse.ended.wait()
    assert nurse.end_reason == "hangup"


async def test_auto_answer_countdown_can_be_stopped_and_ring_declined(
    tablet: Page, nurse: StaffCaller, demo: Settings, server: TestServer
) -> None:
    """Within a consented visit the tablet counts down; Afbryd stops it; Afvis declines."""
    visit_id = await add_visit_now(demo, int(KAREN))
    await nurse.ring(KAREN, str(visit_id))
    await wait_screen(tablet, "ringing")
    await tablet.wait_for_selector("#auto-answer", state="visible")
    await screenshot(tablet, "kiosk-auto-answer")
    await tablet.get_by_role("button", name="Afbryd").click()
    await tablet.wait_for_selector("#auto-answer", state="hidden")
    await tablet.wait_for_timeout(3500)  # longer than the 3 s countdown: still ringing
    assert await tablet.evaluate("document.body.dataset.screen") == "ringing"
    await tablet.get_by_role("button", name="Afvis").click()
    await tablet.locator("#decline-button[data-decline='confirm']").wait_for()
    await tablet.get_by_role("button", name="Tryk igen for at afvise").click()  # deliberate
    await wait_screen(tablet, "idle")
    async with asyncio.timeout(10):
        await nurse.ended.wait()
    assert nurse.end_reason == "declined"
    await nurse.ring(KAREN, str(visit_id))
    await wait_screen(tablet, "ringing")
    await wait_screen(tablet, "call")  # the countdown reached zero: answered by itself
    await wait_true(tablet, VIDEO_PLAYING)
