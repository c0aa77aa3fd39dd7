"""The visitator in Chromium: a plan in words, its preview, a hospital pause, the plan's history,
and a medication dose that may not leave its window; at tablet, laptop and phone sizes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page
from sqlalchemy import select

from server.models import Citizen
from server.settings import Settings
from tests.browser.conftest import log_in, screenshot
from tests.databases import transaction
from tests.zone import today

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "plan-editor.png"
VIEWPORTS = ((1024, 600), (1366, 768), (390, 844))


async def _citizen_id(settings: Settings, name: str) -> int:
    async with transaction(settings.database_url) as session:
        found = await session.scalar(select(Citizen.id).where(Citizen.name == name))
    assert found is not None
    return found


async def _open(page: Page, server: TestServer, citizen_id: int) -> None:
    await page.goto(str(server.make_url(f"/citizens/{citizen_id}/plans")))
    await page.wait_for_selector(".plan-page[data-state='ready']")


async def _no_sideways_scroll(page: Page) -> bool:
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def _add_plan_in_words(page: Page) -> None:
    """Reassurance on Monday, Wednesday and Friday at 10:00 ±15 on the screen."""
    await page.get_by_role("button", name="Ny plan").click()
    await page.get_by_label("Besøgstype").first.select_option("reassurance")
    await page.get_by_label("Valgte dage").check()
    for day in ("Tirsdag", "Torsdag", "Lørdag", "Søndag"):
        await page.get_by_label(day, exact=True).uncheck()
    await page.locator("#pf-time").fill("10:00")
    await page.locator("#pf-window").fill("15")
    await page.locator("#pf-reason").fill("Tryghed efter udskrivelse")
    words = page.locator("#preview-words")
    await words.filter(has_text="Mandag, onsdag og fredag").wait_for()
    days = page.locator("#preview-days .preview-day")
    assert await days.count() == 12  # four weeks of Monday, Wednesday and Friday
    assert await days.filter(has_text="10:00 Skærm").count() == 12
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gem plan").click()
    await page.wait_for_selector(".plan-page[data-state='ready']")


async def test_visitator_plans_pauses_and_is_refused_a_medication_move(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Vera adds a plan in words, sees four weeks, pauses it, reads the history, is refused."""
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await log_in(page, server, "vera")
    inger = await _citizen_id(demo, "Inger Madsen")
    await _open(page, server, inger)
    await _add_plan_in_words(page)
    plan = page.locator(".plan[data-type='reassurance']")
    assert "Mandag, onsdag og fredag" in await plan.inner_text()

    start, end = today() + dt.timedelta(days=2), today() + dt.timedelta(days=6)
    await page.locator("#pa-start").fill(start.isoformat())
    await page.locator("#pa-end").fill(end.isoformat())
    await page.locator("#pa-reason").fill("Indlagt på sygehuset")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sæt besøg på pause").click()
    await page.wait_for_selector(".plan-page[data-state='ready']")
    assert "Indlagt på sygehuset" in await page.locator(".pause-list").inner_text()

    await plan.locator("summary", has_text="Historik").click()
    history = plan.locator(".history-list > li")
    await history.first.wait_for()
    lines = await history.all_inner_texts()
    assert len(lines) == 2
    assert (
        "Pause" in lines[0] and "Indlagt på sygehuset" in lines[0] and "Vera Visitator" in lines[0]
    )
    assert "Plan oprettet" in lines[1] and "Tryghed efter udskrivelse" in lines[1]
    assert "Mandag, onsdag og fredag" in lines[1]

    for width, height in VIEWPORTS:
        await page.set_viewport_size({"width": width, "height": height})
        await _open(page, server, inger)
        await page.get_by_role("button", name="Ny plan").click()
        await page.locator("#preview-days .preview-day").first.wait_for()
        assert await _no_sideways_scroll(page), (width, height)
        await screenshot(page, f"plan-editor-{width}x{height}")
        if width == 1366:
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(DOCS_SHOT), full_page=True)

    await _open(page, server, await _citizen_id(demo, "Karen Sørensen"))
    dose = page.locator(".plan[data-type='medication']").first
    await dose.get_by_role("button", name="Flyt eller aflys en dag").click()
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    await page.locator("#cf-date").fill(tomorrow)
    await page.locator("#cf-to-date").fill(tomorrow)
    await page.locator("#cf-to-time").fill("15:00")
    await page.locator("#cf-reason").fill("Frisør om formiddagen")
    await page.get_by_role("button", name="Gem ændring").click()
    refusal = page.locator("#change-error")
    await refusal.wait_for()
    assert await refusal.get_attribute("data-code") == "medication_out_of_window"
    assert "inden for sit tidsvindue" in await refusal.inner_text()
    assert await page.locator("#cf-override").is_visible()  # Vera may override, with a reason
    assert await _no_sideways_scroll(page)
    await screenshot(page, "plan-editor-medication-refused")
    assert errors == []
