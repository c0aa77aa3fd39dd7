"""The SMS number on the citizen page in Chromium on a phone: a wrong number is refused on its
field, a new one is saved and shown masked, then cleared after a confirmation."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Dialog

from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in

WAIT_MS = 15_000
GERDA = 21  # the demo's citizen without a tablet, who gets her notices by SMS


async def test_citizen_sms_number_set_and_cleared_on_a_phone(
    browser: BrowserContext, server: TestServer
) -> None:
    """At 390 px, as a visitator: "12" is marked, +45 11 22 33 44 shows as ********44, and
    "Fjern nummer" leaves "Intet SMS-nummer."; the card fits and is axe clean."""
    page = await browser.new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    await log_in(page, server, "vera")
    await page.goto(str(server.make_url(f"/citizens/{GERDA}")))
    card = page.locator("#citizen-notices")
    await card.locator("#sms-number").get_by_text("********50").wait_for(timeout=WAIT_MS)
    phone = card.get_by_label("Nyt SMS-nummer")
    await phone.fill("12")
    await card.get_by_role("button", name="Gem nummer").click()
    await card.locator("#sms-status").get_by_text("6-20 cifre").wait_for(timeout=WAIT_MS)
    assert await phone.get_attribute("aria-invalid") == "true"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = await serious_violations(page, "#citizen-notices")
    assert not violations, describe(violations)

    await phone.fill("+45 11 22 33 44")
    await card.get_by_role("button", name="Gem nummer").click()
    await card.locator("#sms-number").get_by_text("********44").wait_for(timeout=WAIT_MS)

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await card.get_by_role("button", name="Fjern nummer").click()
    await card.locator("#sms-number").get_by_text("Intet SMS-nummer.").wait_for(timeout=WAIT_MS)
