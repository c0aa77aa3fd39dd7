"""The consent register on the citizen page, in Chromium, as a visitator uses it."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import log_in, screenshot

POUL = 2  # demo citizen 2 (Team Syd): screen visits consented, no auto-answer yet
SIZES = ((1024, 600), (1366, 768), (390, 844))


async def fits_every_size(page: Page) -> None:
    """At each supported size the register's sections, forms open, fit the page's width."""
    for summary in await page.locator("#consents summary, #relatives summary").all():
        await summary.click()
    for width, height in SIZES:
        await page.set_viewport_size({"width": width, "height": height})
        wide = await page.evaluate(
            """() => {
              const limit = document.documentElement.clientWidth + 1;
              const mine = document.querySelectorAll(
                "#consents, #consents *, #relatives, #relatives *");
              return [...mine].some((e) => e.getBoundingClientRect().right > limit);
            }"""
        )
        assert not wide, f"the register is wider than the page at {width}x{height}"
    await page.reload()


async def test_visitator_records_auto_answer_and_a_daughter_then_withdraws(
    browser: BrowserContext, server: TestServer
) -> None:
    """Vera records Poul's auto-answer (07:00–10:00, contact persons) and adds his daughter who
    may join meetings; both show in the history; the withdrawn auto-answer is marked."""
    page = await browser.new_page()
    await log_in(page, server, "vera")
    await page.goto(str(server.make_url(f"/citizens/{POUL}")))

    await page.locator("#consent-new summary").click()
    await page.select_option("#consent-kind", "auto_answer")
    window = page.locator(".consent-window").first
    await window.get_by_label("Fra").fill("07:00")
    await window.get_by_label("Til").fill("10:00")
    await expect(page.get_by_label("Borgerens kontaktpersoner")).to_be_checked()
    await page.locator("#consent-note").fill("Givet ved opstartsbesøget")
    await page.locator("#consent-form button[type=submit]").click()
    await expect(page.locator("#consent-status")).to_have_text("Samtykket er registreret.")

    await page.locator("#relative-new summary").click()
    form = page.locator("#relative-add-form")
    await form.get_by_label("Navn", exact=True).fill("Ida Andersen")
    await form.get_by_label("Relation").fill("datter")
    await form.get_by_label("Må deltage i møder").check()
    await form.get_by_role("button", name="Tilføj pårørende").click()
    await expect(page.locator("#relatives-status")).to_have_text("Den pårørende er tilføjet.")

    history = page.locator("#consent-history")
    auto = history.locator("li.active", has_text="Automatisk svar")
    await expect(auto).to_contain_text("07:00–10:00")
    await expect(auto).to_contain_text("kontaktpersoner")
    await expect(history.locator("li.active", has_text="Ida Andersen")).to_contain_text(
        "Må deltage i møder"
    )
    await fits_every_size(page)

    active = page.locator("#consent-active li[data-kind=auto_answer]")
    consent_id = await active.get_attribute("data-consent-id")
    await active.locator("summary").click()
    await active.get_by_label("Hvem", exact=True).select_option("relative")
    await active.get_by_label("Navn (ikke nødvendigt for borgeren selv)").fill("Ida Andersen")
    await active.get_by_role("button", name="Træk samtykket tilbage").click()
    await expect(page.locator("#consent-status")).to_have_text("Samtykket er trukket tilbage.")
    withdrawn = page.locator(f"#consent-history li[data-consent-id='{consent_id}']")
    await expect(withdrawn).to_have_class("withdrawn")
    await expect(withdrawn).to_contain_text("trukket tilbage")
    await expect(withdrawn).to_contain_text("Pårørende: Ida Andersen")
    await expect(page.locator("#consent-active li[data-kind=auto_answer]")).to_have_count(0)
    await screenshot(page, "consent-register")
