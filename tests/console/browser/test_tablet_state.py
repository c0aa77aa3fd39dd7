"""The nurse always knows what the tablet is doing: sound off, microphone off, connection lost
(with the seconds since) and back; the outcome waits for the end of the call, then is in view."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page, ViewportSize

from server.demo import demo_kiosk_token
from server.keys import book_key
from server.settings import Settings
from server.signaling import hub_key
from tests.browser.conftest import log_in
from tests.console.seed import seed_today
from tests.kiosk_web.conftest import WAIT_MS, open_kiosk, tablet_settings, wait_screen, wait_true

LAPTOP = ViewportSize(width=1366, height=768)
NEW_PICTURE = """(() => {
  const video = document.getElementById("remote-video");
  return video.srcObject !== window.before && video.videoWidth > 0;
})()"""
CARDS = "#tablet-cards"


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Quick liveness for the tablet (2 s pings) and a reconnect grace the test can wait out."""
    return tablet_settings(db_url, reconnect_grace_s=20, scheduler_enabled=False)


async def card_text(page: Page, name: str) -> str:
    """The visible text of one of the call view's tablet cards."""
    return (await page.locator(f'{CARDS} [data-card="{name}"]').inner_text()).strip()


async def wait_card(page: Page, name: str, pattern: str) -> str:
    """Wait until card ``name`` is shown with text matching ``pattern``; its text."""
    card = page.locator(f'{CARDS} [data-card="{name}"]')
    await card.filter(has_text=re.compile(pattern)).wait_for(state="visible", timeout=WAIT_MS)
    return (await card.inner_text()).strip()


async def cut_signalling(tablet: Page) -> None:
    """The tablet loses the server: its socket drops and reconnecting fails until restored.
    (Chromium's offline mode does not cut loopback, FIELD-NOTES.md; media keeps flowing.)"""
    await tablet.evaluate(
        """() => {
          const client = window.screenvisitKiosk.client;
          client.realUrl = client.url;
          // Same origin (the page's CSP allows only that), a path the server does not
          // upgrade: every attempt fails like a lost network until restored.
          client.url = client.url.replace("/ws", "/ws-unreachable");
          client.reconnectNow();
        }"""
    )


async def restore_signalling(tablet: Page) -> None:
    """The tablet's network is back: it reconnects at once and resumes its seat."""
    await tablet.evaluate(
        """() => {
          const client = window.screenvisitKiosk.client;
          client.url = client.realUrl;
          client.checkNow();
        }"""
    )


# The connection card through a lost and restored connection, on a made-up clock (ms) and a
# stand-in for the tablet's RTCPeerConnection: what the nurse reads after each step.
CONNECTION_STEPS = """async () => {
  const { TabletCards } = await import("/static/js/tabletcards.js");
  const container = document.getElementById("tablet-cards").cloneNode(true);
  container.removeAttribute("id");
  let packets = 0;
  const stats = async () => new Map([["in", { type: "inbound-rtp", packetsReceived: packets }]]);
  let pc = { iceConnectionState: "connected", getStats: stats };
  const cards = new TabletCards(container, () => pc);
  cards.callPhase = "active";  // without its once-a-second sampling: this test moves the clock
  const card = container.querySelector('[data-card="connection"]');
  const shown = () => (card.hidden ? null : card.querySelector("[data-seen]").textContent);
  const log = [];
  const at = async (now, change) => {
    change();
    await cards.sample(now);
    log.push(shown());
  };
  await at(0, () => (packets = 10));
  await at(1000, () => (packets = 20));
  await at(4500, () => {});
  await at(12500, () => {});
  await at(13000, () => { pc = { iceConnectionState: "checking", getStats: stats }; packets = 0; });
  await at(14000, () => (packets = 5));
  await at(19500, () => (packets = 6));
  await at(20000, () => { pc.iceConnectionState = "disconnected"; packets = 7; });
  await at(21000, () => (pc.iceConnectionState = "failed"));
  await at(23000, () => { pc.iceConnectionState = "connected"; packets = 8; });
  cards.signalLost(24000);
  await at(26500, () => (packets = 9));
  cards.signalBack(27000);
  log.push(shown());
  await at(27500, () => (packets = 10));
  return log;
}"""
EXPECTED_STEPS = [
    None,
    None,
    "Forbindelsen til tabletten er ustabil",  # no packets for 3.5 s
    "Forbindelsen til tabletten er væk – 11 sek.",  # none for 11.5 s: lost since the last one
    "Genopretter forbindelsen …",  # a fresh connection is being set up
    "Forbindelsen er tilbage",  # packets again
    None,  # "back" has had its few seconds
    "Forbindelsen til tabletten er ustabil",  # ICE disconnected
    "Forbindelsen til tabletten er væk – 0 sek.",  # ICE failed
    "Forbindelsen er tilbage",
    "Forbindelsen til tabletten er væk – 2 sek.",  # its socket dropped (media or not)
    "Genopretter forbindelsen …",  # it resumed its seat
    "Forbindelsen er tilbage",
]


async def test_nurse_sees_what_the_tablet_does_and_documents_after_the_call(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Sound off in the list and before the ring; microphone off and a lost connection (seconds
    counting) during the call, then "back"; the outcome locked until the nurse hangs up, then
    wholly inside a 1366×768 screen with its first field focused."""
    karen = (await seed_today(demo))["Karen"]  # a screen visit now: a row in Anna's list
    tablet = await open_kiosk(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(tablet, "idle")
    await tablet.wait_for_selector("body[data-connection='open']", timeout=WAIT_MS)
    await tablet.evaluate("() => { document.body.dataset.sound = 'off'; }")

    console = await browser.new_page()
    await console.set_viewport_size(LAPTOP)
    await log_in(console, server, "anna")
    presence = console.locator('tr[data-citizen-id="1"] .presence[data-sound="off"]').first
    await presence.wait_for(timeout=WAIT_MS)
    assert "lyden er slået fra" in await presence.inner_text()

    await console.goto(str(server.make_url(f"/call/1?visit={karen}")))
    await console.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
    assert "Online – lyden er slået fra" in await wait_card(console, "sound", "lyden")
    assert await console.evaluate(CONNECTION_STEPS) == EXPECTED_STEPS
    # No call yet (the nurse may document a visit without one): the outcome is open.
    assert await console.get_by_role("button", name="Gennemført", exact=True).is_enabled()
    await console.get_by_role("button", name="Ring op").click()
    await console.locator('#outcome[data-locked="true"]').wait_for(timeout=WAIT_MS)
    await wait_screen(tablet, "ringing")
    await tablet.get_by_role("button", name="Svar").click()
    await console.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
    await tablet.evaluate("() => { document.body.dataset.sound = 'off'; }")  # answered by itself
    await wait_card(console, "sound", "spiller ikke lyd")  # the in-call wording

    # The outcome cannot be saved while the call is on, and says so (the nurse scrolls to it).
    await console.locator("#outcome").scroll_into_view_if_needed()
    assert await console.locator("#outcome-locked").is_visible()
    assert await console.get_by_role("button", name="Gennemført", exact=True).is_disabled()

    await tablet.evaluate("() => { document.body.dataset.sound = 'on'; }")
    await console.locator(f'{CARDS} [data-card="sound"]').wait_for(state="hidden")
    await tablet.evaluate(
        "() => { for (const t of window.screenvisitKiosk.calls.stream.getAudioTracks())"
        " t.enabled = false; }"
    )
    assert "mikrofon er slået fra" in await wait_card(console, "microphone", "mikrofon")

    await console.wait_for_function(
        "() => document.getElementById('remote-video').videoWidth > 0", timeout=WAIT_MS
    )
    await cut_signalling(tablet)
    lost = await wait_card(console, "connection", r"er væk – ([2-9]|\d\d) sek\.")
    assert lost.startswith("Forbindelsen til tabletten er væk")
    await restore_signalling(tablet)
    await wait_card(console, "connection", "Forbindelsen er tilbage")
    await wait_true(console, "document.getElementById('callview').dataset.callState === 'active'")

    # The nurse's own socket drops and she resumes her seat: she offers afresh (PROTOCOL.md
    # "Reconnect and resume") and the citizen's picture comes back on a new connection.
    remember = "() => { window.before = document.querySelector('#remote-video').srcObject; }"
    await console.evaluate(remember)
    call = await server.app[book_key].call_of_citizen("1")
    assert call is not None
    nurse_peer = server.app[hub_key].peers[next(seat.peer_id for seat in call.staff)]
    await nurse_peer.ws.close(code=1011)  # an internal error: reconnect and resume
    await wait_true(console, NEW_PICTURE)

    await console.get_by_role("button", name="Læg på").click()
    await console.locator('#callview[data-call-state="ended"]').wait_for(timeout=WAIT_MS)
    await wait_screen(tablet, "idle")
    assert await console.locator(CARDS).evaluate(
        "cards => [...cards.children].every((card) => card.hidden)"
    )
    assert await console.get_by_role("button", name="Gennemført", exact=True).is_enabled()
    assert not await console.locator("#outcome-locked").is_visible()
    box = await console.locator("#outcome").bounding_box()
    assert box is not None
    # Within the 1366×768 viewport (to the pixel: scrolling may leave a fraction of one).
    assert box["y"] >= -1 and box["y"] + box["height"] <= LAPTOP["height"] + 1, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"], box
    state = await console.locator("#call-state").bounding_box()  # and why the call ended
    assert state is not None and state["y"] >= 0, state
    focused = await console.evaluate("document.activeElement?.closest('#outcome-form') !== null")
    assert focused

    # "Dokumentér" (a physical visit, no call at all): the outcome is open at once.
    await console.goto(str(server.make_url(f"/call/1?visit={karen}&document=1")))
    await console.locator('#outcome[data-locked="false"]').wait_for(timeout=WAIT_MS)
    assert await console.get_by_role("button", name="Gennemført", exact=True).is_enabled()
