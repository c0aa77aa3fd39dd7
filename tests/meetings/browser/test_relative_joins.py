"""A relative joins a visitation meeting by video: Chromium on a phone-sized page opens the
invite, waits in the lobby, the host (a second Chromium page) admits her, and both decode the
other's video; when the host hangs up, the meeting is over for her too."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from server.settings import Settings
from tests.browser.conftest import log_in, screenshot
from tests.console.browser.test_console_e2e import karens_tablet
from tests.meetings import seed

WAIT_MS = 30_000
KAREN = 1

# True once the video shows decoded frames and its clock moves on (sampled twice).
PLAYING = """async (video) => {
  if (!video || !video.videoWidth) return false;
  const before = video.currentTime;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return video.videoWidth > 0 && video.currentTime > before;
}"""


async def create_invite(page: Page, visit: int) -> dict[str, Any]:
    """The host invites Karen's relative from her logged-in page (the JSON API)."""
    relative = await seed_relative(page)
    made: dict[str, Any] = await page.evaluate(
        """async ([visit, relative]) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const response = await fetch(`/api/visits/${visit}/invites`, {
            method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: JSON.stringify({kind: "relative", relative_id: relative}),
          });
          return await response.json();
        }""",
        [visit, relative],
    )
    return made


async def seed_relative(page: Page) -> int:
    """Karen's relative on file, read through the API as the host."""
    found: int = await page.evaluate(
        f"fetch('/api/citizens/{KAREN}/relatives').then(r => r.json()).then(j => j.relatives[0].id)"
    )
    return found


async def playing(page: Page, selector: str) -> None:
    """Wait until the video at ``selector`` decodes frames and plays on."""
    video = page.locator(selector).first
    await video.wait_for(timeout=WAIT_MS)
    await page.wait_for_function(
        f"""async () => ({PLAYING})(document.querySelector({selector!r}))""",
        timeout=WAIT_MS,
        polling=500,
    )


async def test_relative_waits_is_admitted_and_media_flows_both_ways(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Invite → lobby → knock → admit → both sides decode video → the host ends it."""
    visit = await seed.meeting(demo)
    async with karens_tablet(server, demo):
        host = await browser.new_page()
        await log_in(host, server, "anna")
        made = await create_invite(host, visit)
        await host.goto(str(server.make_url(f"/call/{KAREN}?visit={visit}")))
        await host.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
        await host.locator("#btn-ring").click()
        await host.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)

        guest = await browser.new_page()
        await guest.set_viewport_size({"width": 390, "height": 844})  # a phone
        await guest.goto(str(server.make_url("/join/" + made["url"].rsplit("/", 1)[1])))
        await guest.locator('#device-status[data-result="ok"]').wait_for(timeout=WAIT_MS)
        assert await guest.locator("#guest-name").input_value() == "Ida Sørensen"
        await guest.locator("#guest-name").fill("Ida")
        await guest.locator("#btn-knock").click()
        await guest.locator('#join[data-step="waiting"]').wait_for(timeout=WAIT_MS)
        await screenshot(guest, "meeting-guest-waiting-390x844")

        waiting = host.locator("#lobby-list li[data-lobby-id]")
        await waiting.wait_for(timeout=WAIT_MS)
        assert "Ida" in await waiting.inner_text()
        assert "Ida" in await host.locator("#lobby-announce").inner_text()
        await waiting.locator('button[data-action="admit"]').click()

        await guest.locator('#join[data-step="call"]').wait_for(timeout=WAIT_MS)
        await playing(guest, '#remote-videos video[data-kind="staff"]')
        await playing(host, "#guest-videos video")
        quality = host.locator('#party-list li[data-kind="guest"] [data-quality]')
        await host.wait_for_function(
            "() => document.querySelector('#party-list li[data-kind=\"guest\"] [data-rtt-ms]')",
            timeout=WAIT_MS,
        )
        assert "ms" in await quality.inner_text()
        await screenshot(host, "meeting-host-with-guest")

        await host.locator("#btn-hangup").click()
        await guest.locator('#join[data-over="ended"]').wait_for(timeout=WAIT_MS)
