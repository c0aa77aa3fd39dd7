"""A nurse opens the key-figures dashboard in Chromium and sees Chart.js charts of her team."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext
from sqlalchemy import select

from server.models import Call, CallState, Channel, Citizen, Staff, Team, Visit, VisitStatus
from server.settings import Settings
from tests.browser.conftest import screenshot
from tests.databases import transaction
from tests.zone import LOCAL_ZONE, today

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "figures.png"
OUTCOMES = (VisitStatus.DONE, VisitStatus.DONE, VisitStatus.DONE, VisitStatus.MISSED)


async def _history(settings: Settings, weeks: int = 6) -> None:
    """Past weeks of Team Nord visits with calls of varying punctuality and length."""
    async with transaction(settings.database_url) as session:
        team = await session.scalar(select(Team.id).where(Team.name == "Team Nord"))
        citizens = list(await session.scalars(select(Citizen.id).where(Citizen.team_id == team)))
        staff = list(
            await session.scalars(select(Staff.id).where(Staff.username.in_(["anna", "carla"])))
        )
        this_day = today()
        for n in range(1, weeks * 7):
            day = this_day - dt.timedelta(days=n)
            for index, citizen in enumerate(citizens):
                status = OUTCOMES[(n + index) % len(OUTCOMES)]
                planned = dt.datetime.combine(day, dt.time(9, 0), LOCAL_ZONE).astimezone(dt.UTC)
                visit = Visit(
                    citizen_id=citizen, visit_type_id=1, team_id=team, planned_at=planned,
                    channel=Channel.PHYSICAL if (n + index) % 5 == 0 else Channel.SCREEN,
                    status=status, assigned_staff_id=staff[(n // 7 + index) % len(staff)],
                )  # fmt: skip
                session.add(visit)
                await session.flush()
                rang = planned + dt.timedelta(minutes=(n * 7 + index * 3) % 25)
                answered = rang + dt.timedelta(seconds=15) if status == VisitStatus.DONE else None
                length = dt.timedelta(seconds=150 + 20 * (n % 6))
                session.add(
                    Call(
                        public_id=f"hist-{visit.id}", citizen_id=citizen, visit_id=visit.id,
                        caller_staff_id=visit.assigned_staff_id, state=CallState.ENDED,
                        ring_started_at=rang, answered_at=answered,
                        ended_at=None if answered is None else answered + length,
                    )
                )  # fmt: skip


async def test_figures_page_draws_charts(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """After login the nav links to Nøgletal; the page draws five charts and a table, no errors."""
    await _history(demo)
    page = await browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(server.make_url("/login?next=/figures")))
    await page.get_by_label("Brugernavn").fill("anna")
    await page.get_by_label("Adgangskode").fill("demo1234")
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_url("**/figures", timeout=15_000)
    await page.wait_for_selector("#figures[data-state='ready']", timeout=15_000)
    assert await page.get_by_role("link", name="Nøgletal").count() == 1
    drawn = await page.evaluate(
        "[...document.querySelectorAll('canvas')].map((c) => Boolean(window.Chart.getChart(c)))"
    )
    assert drawn == [True] * 5
    assert await page.locator("#figures-table tbody tr").count() == 8
    first_week = await page.locator("#figures-table tbody tr td").first.text_content() or ""
    assert first_week.startswith("uge ") and "W" not in first_week  # in the reader's words
    assert errors == []
    path = await screenshot(page, "figures")
    DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SHOT)
