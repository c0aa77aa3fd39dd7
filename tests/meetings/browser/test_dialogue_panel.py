"""Dialogue support end to end: Karen answers the two questions on her tablet before a
meeting, and the host's meeting panel in the call view shows her answers, keeps a note per
dignity-wheel theme and puts a follow-up task in the team's inbox."""

from __future__ import annotations

import datetime as dt

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in, screenshot
from tests.kiosk_web.conftest import open_kiosk, wait_screen
from tests.meetings import seed

WAIT_MS = 30_000


async def test_tablet_answers_reach_the_hosts_panel_and_a_task_reaches_the_inbox(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Tablet: "Min medicin" + "Tryghed om natten", then Ida; host: reads "Karen vil gerne tale
    om: …" and Ida, saves a note on "At føle sig tryg", gives Carla a task due tomorrow."""
    visit = await seed.meeting(demo, starts_in=dt.timedelta(hours=3))
    tablet = await open_kiosk(browser, server, demo_kiosk_token(demo, 0))
    await wait_screen(tablet, "questions", WAIT_MS)
    await tablet.get_by_role("button", name="Min medicin").click()
    await tablet.get_by_role("button", name="Tryghed om natten").click()
    await tablet.get_by_role("button", name="Færdig").click()
    await tablet.locator("#questions-choices[data-step='people']").wait_for(timeout=WAIT_MS)
    await tablet.locator("#questions-choices .choice", has_text="Ida").click()
    await tablet.get_by_role("button", name="Færdig").click()
    await tablet.wait_for_selector("body[data-questions='sent']", timeout=WAIT_MS)
    await wait_screen(tablet, "idle", WAIT_MS)

    host = await browser.new_page()
    await log_in(host, server, "anna")
    await host.goto(str(server.make_url(f"/call/{seed.KAREN}?visit={visit}")))
    answers = host.locator("#dialogue-answers[data-state='answered']")
    await answers.wait_for(timeout=WAIT_MS)
    text = await answers.inner_text()
    assert "Karen vil gerne tale om: Min medicin, Tryghed om natten" in text
    assert "Skal være med: Ida (" in text
    violations = await serious_violations(host, "#meeting-dialogue")
    assert not violations, describe(violations)

    await host.get_by_label("At føle sig tryg").fill("Vil gerne have nødkald")
    await host.get_by_role("button", name="Gem noter").click()
    await host.locator("#dialogue-status", has_text="Noterne er gemt.").wait_for(timeout=WAIT_MS)

    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    await host.get_by_label("Opgave").fill("Bestil nødkald")
    await host.get_by_label("Ansvarlig").select_option(label="Carla Hansen")
    await host.get_by_label("Senest").fill(tomorrow)
    await host.get_by_role("button", name="Opret opgave").click()
    await host.locator("#task-list li", has_text="Bestil nødkald – Carla Hansen").wait_for(
        timeout=WAIT_MS
    )
    await screenshot(host, "meeting-dialogue-panel")
    inbox = await (await host.request.get(str(server.make_url("/api/inbox")))).json()
    kinds = {(i["kind"], i["taken_by_name"]) for i in inbox["items"]}
    assert ("follow_up_task", "Carla Hansen") in kinds
    notes = await host.request.get(str(server.make_url(f"/api/visits/{visit}/dialogue")))
    themes = {t["code"]: t["note"] for t in (await notes.json())["themes"]}
    assert themes["safety"] == "Vil gerne have nødkald"
