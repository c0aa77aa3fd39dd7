"""The tablet recovers by itself: a dropped socket and a network outage need no touch."""

from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from kiosk.caller import StaffCaller
from server.signaling import hub_key
from tests.browser.conftest import screenshot
from tests.kiosk_web.conftest import KAREN, WAIT_MS, wait_screen, wait_true

FRAMES = "document.querySelector('#remote-video').getVideoPlaybackQuality().totalVideoFrames"


async def frames_advance(page: Page) -> None:
    """The remote video is still playing: its decoded frame count keeps growing."""
    before = await page.evaluate(FRAMES)
    await wait_true(page, f"{FRAMES} > {before} + 5")


async def drop_kiosk_socket(server: TestServer) -> None:
    """Close the tablet's socket from the server side, as a restarting node would (1011)."""
    hub = server.app[hub_key]
    peer_id = await hub.book.kiosk_peer(KAREN)
    peer = hub.peers.get(peer_id) if peer_id else None
    assert peer is not None, "the tablet is not connected"
    await peer.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"test drop")


async def test_call_survives_server_socket_drop_and_network_outage(
    tablet: Page, nurse: StaffCaller, server: TestServer, browser: BrowserContext
) -> None:
    """After a 1011 and an offline spell the call resumes, and media flows, without a click."""
    await nurse.ring(KAREN)
    await wait_screen(tablet, "ringing")
    await tablet.get_by_role("button", name="Svar").click()
    await wait_true(tablet, f"{FRAMES} > 0")
    await drop_kiosk_socket(server)
    await tablet.wait_for_selector("body[data-connection='reconnecting']", timeout=WAIT_MS)
    await tablet.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    assert await tablet.evaluate("document.body.dataset.screen") == "call"
    await frames_advance(tablet)
    await browser.set_offline(True)
    await tablet.wait_for_selector("#reconnecting", state="visible", timeout=WAIT_MS)
    await screenshot(tablet, "kiosk-reconnecting")
    await browser.set_offline(False)
    await tablet.wait_for_selector("#reconnecting", state="hidden", timeout=WAIT_MS)
    await tablet.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    assert await tablet.evaluate("document.body.dataset.screen") == "call"
    await frames_advance(tablet)
    assert nurse.call is not None and not nurse.ended.is_set()
    await nurse.hangup()
    await wait_screen(tablet, "idle")


async def test_idle_tablet_comes_back_online_after_socket_drop(
    tablet: Page, server: TestServer, nurse: StaffCaller
) -> None:
    """An idle tablet whose socket dropped reconnects and can be rung again."""
    await drop_kiosk_socket(server)
    await tablet.wait_for_selector("body[data-connection='reconnecting']", timeout=WAIT_MS)
    await tablet.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    async with asyncio.timeout(10):
        await nurse.ring(KAREN)
    await wait_screen(tablet, "ringing")
