"""A relative joins a visitation meeting by video: Chromium on a phone-sized page opens the
invite, waits in the lobby, the host (a second Chromium page) admits her, and both decode the
other's video; when the host hangs up, the meeting is over for her too."""

from __future__ import annotations

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


async def invite_from_panel(host: Page) -> str:
    """The host invites Karen's relative from the meeting panel; the link's path."""
    await host.locator("#invites summary").click()
    await host.locator("#invite-who option").first.wait_for(state="attached", timeout=WAIT_MS)
    assert "Ida" in await host.locator("#invite-who option").first.inner_text()
    await host.locator("#invite-form button[type=submit]").click()
    url = await host.locator("#invite-made [data-invite-url]").input_value(timeout=WAIT_MS)
    await host.locator("#invite-list li[data-invite-id]").wait_for(timeout=WAIT_MS)
    return "/join/" + url.rsplit("/", 1)[1]


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
        await host.goto(str(server.make_url(f"/call/{KAREN}?visit={visit}")))
        await host.locator('#callview[data-call-state="ready"]').wait_for(timeout=WAIT_MS)
        join_path = await invite_from_panel(host)
        await host.locator("#btn-ring").click()
        await host.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)

        guest = await browser.new_page()
        await guest.set_viewport_size({"width": 390, "height": 844})  # a phone
        await guest.goto(str(server.make_url(join_path)))
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
