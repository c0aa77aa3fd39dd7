"""The reminder settings on the administration page, in Chromium on a phone: the sentence that
says what the citizen gets, a wrong field marked with its own message, then a save."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in

WAIT_MS = 15_000


async def settings_json(page: Page) -> Any:
    """The settings the API now returns (through the page's own session)."""
    return await page.evaluate("async () => (await fetch('/api/admin/settings')).json()")


async def test_admin_reminders_marks_a_wrong_field_then_saves_on_a_phone(
    browser: BrowserContext, server: TestServer
) -> None:
    """At 390 px: the defaults read "aftenen før kl. 18:00, og 30 minutter før"; an offset of 3
    minutes is marked on its field and nothing is stored; 19:00 with 30 and 120 is saved."""
    page = await browser.new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    await log_in(page, server, "admin")
    await page.goto(str(server.make_url("/admin")))
    box = page.locator("#reminders")
    summary = box.locator("#reminders-summary")
    await summary.get_by_text("aftenen før kl. 18:00, og 30 minutter før").wait_for(timeout=WAIT_MS)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    violations = await serious_violations(page, "#reminders")
    assert not violations, describe(violations)

    minutes = box.get_by_label("Minutter før besøget")
    await minutes.fill("3, 30")
    await page.get_by_role("button", name="Gem indstillinger").click()
    error = box.locator("#reminders_minutes-error")
    await error.get_by_text("mellem 5 og 720").wait_for(timeout=WAIT_MS)
    assert await minutes.get_attribute("aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.id") == "reminders_minutes"
    assert (await settings_json(page))["reminders"]["minutes_before"] == [30]

    await minutes.fill("120, 30")
    await box.get_by_label("Aftenen før kl.").fill("19:00")
    await summary.get_by_text("kl. 19:00, og 30 og 120 minutter før").wait_for(timeout=WAIT_MS)
    await page.get_by_role("button", name="Gem indstillinger").click()
    await page.locator("#settings-status").get_by_text("Gemt.").wait_for(timeout=WAIT_MS)
    assert await minutes.get_attribute("aria-invalid") is None
    assert await error.is_hidden()
    assert (await settings_json(page))["reminders"] == {
        "enabled": True,
        "evening_before": "19:00",
        "minutes_before": [30, 120],
    }
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
