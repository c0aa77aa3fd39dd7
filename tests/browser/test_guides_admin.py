"""The administrator's guided scripts in Chromium on a phone: edit, a clear error, save, reset."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Dialog, Page

from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in

WAIT_MS = 15_000


async def guide_json(page: Page, code: str) -> Any:
    """The script the API now returns for ``code`` (through the page's own session)."""
    return await page.evaluate("async (code) => (await fetch(`/api/guides/${code}`)).json()", code)


async def test_guides_admin_edits_saves_and_resets_on_a_phone(
    browser: BrowserContext, server: TestServer
) -> None:
    """At 390 px: the wake-up script opens in the editor, a missing English text is marked,
    a changed and an added step are saved (Tilpasset), and reset brings the default back."""
    page = await browser.new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    await log_in(page, server, "admin")
    await page.goto(str(server.make_url("/admin#guides")))
    guides = page.locator("#guides")
    await guides.get_by_role("button", name="Redigér: Vækning").click(timeout=WAIT_MS)
    form = page.locator("#guide-form")
    await form.get_by_role("heading", name="Vækning").wait_for(timeout=WAIT_MS)
    assert await form.locator("li.guide-step").count() == 6
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = await serious_violations(page, "#guides")
    assert not violations, describe(violations)

    intro_en = form.locator("#guide-intro-en")
    await intro_en.fill("")
    await form.get_by_role("button", name="Gem vejledning").click()
    await form.locator("#guide-status").get_by_text("Tjek de markerede felter").wait_for()
    assert await intro_en.get_attribute("aria-invalid") == "true"

    await intro_en.fill("Good morning!")
    first = form.locator("li.guide-step").first
    await first.get_by_label("Dansk").fill("Godmorgen, har du sovet godt?")
    await form.get_by_role("button", name="Tilføj trin").click()
    added = form.locator("li.guide-step").last
    await added.get_by_label("Dansk").fill("Gardinerne er trukket fra")
    await added.get_by_label("Engelsk").fill("The curtains are open")
    await form.get_by_role("button", name="Gem vejledning").click()
    await form.locator("#guide-status").get_by_text("Gemt.").wait_for(timeout=WAIT_MS)
    assert await intro_en.get_attribute("aria-invalid") is None
    await guides.locator("#guide-list").get_by_text("Tilpasset").wait_for()
    saved = await guide_json(page, "wake_up")
    assert saved["customised"] and len(saved["script"]["steps"]) == 7
    assert saved["script"]["steps"][0]["text"]["da"] == "Godmorgen, har du sovet godt?"
    assert saved["script"]["steps"][6] == {
        "kind": "confirm",
        "text": {"da": "Gardinerne er trukket fra", "en": "The curtains are open"},
    }

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await form.get_by_role("button", name="Brug standardvejledningen").click()
    await form.locator("#guide-status").get_by_text("Standardvejledningen").wait_for()
    assert await form.locator("li.guide-step").count() == 6
    assert not (await guide_json(page, "wake_up"))["customised"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
