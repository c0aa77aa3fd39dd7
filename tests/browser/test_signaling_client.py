"""The browser's signalling client in Chromium: an attempt that hangs while opening is given up
and retried, so a tablet on a network that swallows packets does not wait for ever."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

# A socket that never opens and never closes (what a black-holed network looks like to the
# page): the hand-written stand-in is the outer edge, the client under test is the real module.
HANGING_ATTEMPTS = """async () => {
  const { SignalingClient } = await import("/static/js/signaling.js");
  let attempts = 0;
  class Hanging {
    constructor() { attempts += 1; this.readyState = 0; }
    send() {}
    close() { this.readyState = 3; }
  }
  const states = [];
  const client = new SignalingClient({
    url: "ws://example.invalid/ws", WebSocketImpl: Hanging,
    connectTimeoutMs: 300, baseDelayMs: 50, maxDelayMs: 100,
  });
  client.on("state", ({ state }) => states.push(state));
  client.start();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  client.stop();
  return { attempts, states };
}"""


async def test_an_attempt_that_hangs_while_opening_is_retried(
    browser: BrowserContext, server: TestServer
) -> None:
    """No open, no close, no welcome: after the connect timeout the client tries again."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/login")))
    result = await page.evaluate(HANGING_ATTEMPTS)
    assert result["attempts"] >= 3, result
    assert "reconnecting" in result["states"], result
