"""A relative's phone loses its signalling socket in the middle of a meeting (locked screen,
network blip): Chromium reconnects by itself. Within the grace she takes her seat back and the
pictures flow again; while she is away the host sees her as reconnecting, not gone. Away past
the grace, she is back in the lobby and the host lets her in again."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from server.app import create_app
from server.settings import Settings
from tests.browser.conftest import log_in
from tests.console.browser.test_console_e2e import karens_tablet
from tests.meetings import seed
from tests.meetings.browser.test_relative_joins import WAIT_MS, invite_from_panel, playing

KAREN = 1
GRACE_S = 12  # long enough to see "reconnecting" on a busy machine, short enough to wait out

# The guest page's sockets, kept so the test can drop one as a network would, and a switch
# that makes new sockets fail at once while the phone is "offline".
SOCKETS = """(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.__offline = false;
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      if (window.__offline) throw new DOMException("offline", "NetworkError");
      super(url, protocols);
      window.__sockets.push(this);
    }
  };
})();"""
# A network drop as the page sees it: the socket ends with 1006 (no close frame). Closing it
# from JS would not do: the server echoes 1000, a final code. The server sees the socket go
# without a hangup, as it does when a phone's network goes.
DROP = """() => {
  window.__offline = true;
  const ws = window.__sockets.at(-1);
  const onclose = ws.onclose;
  ws.onclose = null;
  ws.close(3000, "network");
  onclose(new CloseEvent("close", { code: 1006, wasClean: false }));
}"""
BACK = "() => { window.__offline = false; window.dispatchEvent(new Event('online')); }"
GUEST_ROW = '#party-list li[data-kind="guest"]'


@pytest.fixture
async def server(demo: Settings) -> AsyncIterator[TestServer]:
    """The real app with demo data and a shorter reconnect grace."""
    settings = dataclasses.replace(demo, reconnect_grace_s=GRACE_S)
    test_server = TestServer(create_app(settings), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


async def knock_and_enter(guest: Page, host: Page) -> None:
    """The guest waits in the lobby until the host lets her in; both see the other."""
    await guest.locator('#join[data-step="waiting"]').wait_for(timeout=WAIT_MS)
    waiting = host.locator("#lobby-list li[data-lobby-id]")
    await waiting.wait_for(timeout=WAIT_MS)
    await waiting.locator('button[data-action="admit"]').click()
    await guest.locator('#join[data-step="call"]').wait_for(timeout=WAIT_MS)
    await playing(guest, '#remote-videos video[data-kind="staff"]')
    await playing(host, "#guest-videos video")


async def test_a_guest_whose_socket_drops_comes_back_to_the_call_or_the_lobby(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Drop → the host sees "reconnecting" → back within the grace: same meeting, new peer
    id, video again. Drop past the grace → the host sees her leave → she waits in the lobby →
    admitted again."""
    visit = await seed.meeting(demo)
    async with karens_tablet(server, demo):
        host = await browser.new_page()
        await log_in(host, server, "anna")
        await host.goto(str(server.make_url(f"/call/{KAREN}?visit={visit}")))
        await host.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
        join_path = await invite_from_panel(host)
        await host.locator("#btn-ring").click()
        await host.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)

        guest = await browser.new_page()
        await guest.set_viewport_size({"width": 390, "height": 844})
        await guest.add_init_script(SOCKETS)
        await guest.goto(str(server.make_url(join_path)))
        await guest.locator('#device-status[data-result="ok"]').wait_for(timeout=WAIT_MS)
        await guest.locator("#btn-knock").click()
        await knock_and_enter(guest, host)
        first_id = await host.locator(GUEST_ROW).get_attribute("data-peer")

        # Within the grace: reconnecting on both sides, then the same seat under a new id.
        await guest.evaluate(DROP)
        await guest.locator('#join[data-connection="reconnecting"]').wait_for(timeout=WAIT_MS)
        assert await guest.locator("#join-connection").is_visible()
        reconnecting = host.locator(f'{GUEST_ROW}[data-connection="reconnecting"]')
        await reconnecting.wait_for(timeout=WAIT_MS)
        assert "afbrudt" in await reconnecting.inner_text()
        await guest.evaluate(BACK)
        await guest.locator('#join[data-connection="open"]').wait_for(timeout=WAIT_MS)
        back = host.locator(f'{GUEST_ROW}[data-connection="ok"]')
        await back.wait_for(timeout=WAIT_MS)
        assert await back.get_attribute("data-peer") != first_id
        assert await guest.locator('#join[data-step="call"]').count() == 1
        assert await host.locator("#lobby-list li[data-lobby-id]").count() == 0
        await playing(guest, '#remote-videos video[data-kind="staff"]')
        await playing(host, "#guest-videos video")

        # Past the grace: the host sees her leave; she comes back to the lobby.
        await guest.evaluate(DROP)
        await host.locator(f'{GUEST_ROW}[data-connection="reconnecting"]').wait_for(timeout=WAIT_MS)
        await host.locator(GUEST_ROW).wait_for(state="detached", timeout=WAIT_MS + GRACE_S * 1000)
        await guest.evaluate(BACK)
        await knock_and_enter(guest, host)
        assert await guest.locator("#join-connection").is_hidden()

        await host.locator("#btn-hangup").click()
        await guest.locator('#join[data-over="ended"]').wait_for(timeout=WAIT_MS)
