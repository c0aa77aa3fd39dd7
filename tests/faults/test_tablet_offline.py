"""The tablet's network is gone for 10 s (the link between a network namespace and the host
goes down: not the browser's offline flag, which does not cut loopback WebRTC): the nurse's call
view says the connection is unstable while it is gone, and the call recovers — video decoded
again on both sides — within 5 s of the network returning.

The tablet is the kiosk agent in its own process inside the namespace; the nurse is the real
call view in Chromium on the host (the "ustabil" card is worked out in the browser, from the
tablet connection's ICE state and inbound packets: tabletcards.js)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page
from sqlalchemy import select

from server.app import create_app
from server.demo import DEMO_PASSWORD, demo_kiosk_token
from server.models import Call
from server.settings import Settings
from server.vocabulary import CallState
from tests.browser.conftest import browser, chromium_path  # noqa: F401  (fixtures)
from tests.databases import transaction
from tests.faults.netns import Netns, veth_namespace
from tests.multinode.harness import PROJECT_DIR, KioskProcess, State

OFFLINE_S = 10.0
RECOVER_S = 5.0  # the bound, from the network's return to video decoded both ways
WAIT_S = 30.0  # one step on a busy 2-core machine
WAIT_MS = int(WAIT_S * 1000)
FRAMES = "document.querySelector('#remote-video').getVideoPlaybackQuality().totalVideoFrames"
CARD = '#tablet-cards [data-card="connection"]'


@pytest.fixture
def namespace() -> Iterator[Netns]:
    """The tablet's own network, cut-able; removed afterwards whatever happened."""
    with veth_namespace() as ns:
        yield ns


@pytest.fixture
async def server(demo: Settings) -> AsyncIterator[TestServer]:
    """The real app on every address (the console on loopback, the tablet over the veth)."""
    test_server = TestServer(create_app(demo), host="0.0.0.0")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


async def start_tablet(ns: Netns, server: TestServer, demo: Settings, log: Path) -> KioskProcess:
    """Karen's tablet inside the namespace, reaching the server through the veth."""
    url = f"http://{ns.host_address}:{server.port}"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *ns.exec_prefix(), sys.executable, "-m", "tests.faults.netns_kiosk",
            "--server", url, "--token", demo_kiosk_token(demo, 0),
            "--ice-host", ns.inner_address,
            cwd=PROJECT_DIR, stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    return KioskProcess(process, log)


async def log_in(page: Page, base: str, username: str) -> None:
    """Through the real login form (tests/browser's, on a base URL of our choosing)."""
    await page.goto(f"{base}/login")
    await page.get_by_label("Brugernavn").fill(username)
    await page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_selector("#calllist", timeout=WAIT_MS)


def kiosk_frames_since(before: State, now: State) -> int:
    """Video frames the tablet decoded since ``before``: more on a link it still has, all on a
    link made since (an ICE restart replaces the link and its counter)."""
    old = before.get("links", {})
    frames = 0
    for peer, link in now.get("links", {}).items():
        earlier = old.get(peer)
        same = earlier is not None and earlier["created"] == link["created"]
        frames += int(link["video"]) - (int(earlier["video"]) if same else 0)
    return frames


async def console_frames(page: Page) -> int:
    """Video frames the nurse's call view decoded from the tablet."""
    return int(await page.evaluate(f"() => {FRAMES}"))


async def until_frames(
    page: Page, kiosk: KioskProcess, more: int, wait_s: float
) -> tuple[float, float]:
    """Both sides decode ``more`` frames beyond what they had; how long each side took."""
    started = time.monotonic()
    console_before, kiosk_before = await console_frames(page), kiosk.state

    async def at_console() -> float:
        await page.wait_for_function(
            f"() => {FRAMES} > {console_before + more}", timeout=wait_s * 1000, polling=50
        )
        return time.monotonic() - started

    async def at_kiosk() -> float:
        await kiosk.until(
            lambda s: kiosk_frames_since(kiosk_before, s) > more,
            "the tablet decodes no video",
            wait_s,
        )
        return time.monotonic() - started

    console_s, kiosk_s = await asyncio.gather(at_console(), at_kiosk())
    return console_s, kiosk_s


async def test_tablet_offline_10s_nurse_sees_unstable_and_call_recovers_within_5s(
    namespace: Netns,
    server: TestServer,
    demo: Settings,
    browser: BrowserContext,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Every packet to and from the tablet is dropped for 10 s mid-call: the nurse's view shows
    "Forbindelsen til tabletten er ustabil" while it lasts; when the network returns, video is
    decoded again on both sides within 5 s, and the call is still the same call."""
    kiosk = await start_tablet(namespace, server, demo, tmp_path / "kiosk.log")
    loopback = f"http://127.0.0.1:{server.port}"  # a secure context: the camera is allowed
    try:
        await kiosk.until(lambda s: bool(s.get("online")), "the tablet never came online", WAIT_S)
        console = await browser.new_page()
        await log_in(console, loopback, "anna")
        await console.goto(f"{loopback}/call/1")
        await console.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
        await console.get_by_role("button", name="Ring op").click()
        await console.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
        await until_frames(console, kiosk, 10, WAIT_S)
        call_id = kiosk.state["call_id"]

        namespace.cut()
        cut_at = time.monotonic()
        try:
            unstable = console.locator(CARD).filter(has_text="er ustabil")
            await unstable.wait_for(state="visible", timeout=OFFLINE_S * 1000)
            shown_after = time.monotonic() - cut_at
            await asyncio.sleep(max(0.0, OFFLINE_S - (time.monotonic() - cut_at)))
        finally:
            namespace.restore()
        back_at = time.monotonic()
        console_s, kiosk_s = await until_frames(console, kiosk, 2, WAIT_S)
        recovered_s = time.monotonic() - back_at
        print(
            f"unstable shown {shown_after:.1f} s into the cut; video again at the console after"
            f" {console_s:.1f} s, at the tablet after {kiosk_s:.1f} s"
        )
        assert recovered_s <= RECOVER_S, f"video back after {recovered_s:.1f} s"
        assert kiosk.state["call_id"] == call_id

        await console.get_by_role("button", name="Læg på").click()
        await console.locator('#callview[data-call-state="ended"]').wait_for(timeout=WAIT_MS)
        await kiosk.until(lambda s: s["ended"] == "hangup", "the tablet never heard", WAIT_S)
    finally:
        assert await kiosk.stop() == 0
    async with transaction(demo.database_url) as session:
        row = await session.scalar(select(Call).where(Call.public_id == call_id))
    assert row is not None and (row.state, row.end_reason) == (CallState.ENDED, "hangup")
