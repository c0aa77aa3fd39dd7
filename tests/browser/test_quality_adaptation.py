"""Outgoing video adapts to loss, but not to the packets a network outage swallowed: after the
link comes back the picture must not be paused for losses that were the outage's, not
congestion (seen: the nurse's video went off 3-5 s after the tablet's network returned)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

# The real PeerLink with its RTCPeerConnection swapped for a stand-in whose statistics the test
# writes (the outer edge: what the far end reports); returns the video level after each check.
LEVELS = """async ({ steps }) => {
  const { PeerLink } = await import("/static/js/webrtc.js");
  const mesh = { iceServers: [], stream: null, sendVideo: true, callId: "c",
                 client: { trySend() {} }, _emit() {} };
  const link = new PeerLink(mesh, "peer", true);
  link.pc.close();
  let sent = 0, lost = 0;
  const params = { encodings: [{ active: true }] };
  const sender = { track: { kind: "video", enabled: true },
                   getParameters: () => params, setParameters: async () => {} };
  const fake = { connectionState: "connected", getSenders: () => [sender],
                 getStats: async () => new Map([
                   ["out", { type: "outbound-rtp", packetsSent: sent }],
                   ["rin", { type: "remote-inbound-rtp", packetsLost: lost, roundTripTime: 0.05 }],
                 ]),
                 close() {} };
  link.pc = fake;
  const levels = [];
  for (const [state, dSent, dLost] of steps) {
    fake.connectionState = state;
    sent += dSent;
    lost += dLost;
    await link.adaptQuality();
    levels.push(link.videoLevel);
  }
  return levels;
}"""
STEADY = ["connected", 100, 0]


async def test_an_outage_is_not_taken_for_congestion(
    browser: BrowserContext, server: TestServer
) -> None:
    """Connected, then cut (nothing sent), then back with the outage's 400 packets reported lost
    at once: the video stays on. Real loss (20 %) afterwards still lowers it, then pauses it."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/login")))
    steps = [
        STEADY, STEADY, STEADY,
        ["disconnected", 0, 0], ["disconnected", 0, 0],
        ["connected", 100, 400], STEADY, STEADY,
        ["connected", 100, 25], ["connected", 100, 25],
    ]  # fmt: skip
    levels = await page.evaluate(LEVELS, {"steps": steps})
    assert levels[:8] == [0] * 8, levels
    assert levels[-2:] == [1, 2], levels
