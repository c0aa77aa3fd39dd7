"""In Chromium: a visitator corrects Karen's sheet (a new version, the old one in the history)
and makes Ida's link; Ida opens it on a phone (390×844): the newest version, accessible, and
its PDF is one A4 page."""

# The browser fixtures come from tests/browser/conftest.py; ruff sees their parameters as redefined.
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from server.settings import Settings
from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in, screenshot
from tests.kiosk_web.conftest import WAIT_MS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KAREN = 1
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


async def test_relative_reads_the_newest_version_on_a_phone_and_prints_one_page(
    browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """Version 2 with a follow-up; "Send link til Ida Sørensen"; the phone page; one-page PDF."""
    page = await browser.new_page()
    await log_in(page, server, "vera")
    await page.goto(str(server.make_url(f"/citizens/{KAREN}")))
    await page.get_by_role("button", name="Ret aftaleark").click()
    await page.get_by_label("Det gør kommunen").fill("Vi ringer til dig kl. 8 og kl. 16.")
    follow_up = dt.date.today() + dt.timedelta(days=14)
    await page.get_by_label("Næste opfølgning").fill(follow_up.isoformat())
    async with page.expect_navigation(timeout=WAIT_MS):
        await page.get_by_role("button", name="Gem aftaleark").click()
    card = page.locator("#agreements")
    await card.locator(".sheet-version[data-version='2']").wait_for(timeout=WAIT_MS)
    assert "rettet" in await card.locator(".sheet-version").inner_text()
    assert "Vera Visitator" in await card.locator(".sheet-version").inner_text()
    await card.get_by_text("Tidligere udgaver (1)").click()
    await card.locator("li[data-version='1'] summary").click()
    old = await card.locator("li[data-version='1'] .agreement-sheet").inner_text()
    assert "kl. 8 og kl. 15" in old  # the day's version stays readable
    await page.get_by_role("button", name="Send link til Ida Sørensen").click()
    url_box = page.get_by_label("Link", exact=True)
    await url_box.wait_for(timeout=WAIT_MS)
    url = await url_box.input_value()
    assert "/r/" in url
    violations = await serious_violations(page, "#agreements")
    assert not violations, describe(violations)
    await screenshot(page, "console-citizen-versions")
    await browser.clear_cookies()  # Ida has no account
    phone = await browser.new_page()
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(str(server.make_url(url.split("localhost:8080", 1)[1])))
    main = phone.locator("main")
    text = await main.inner_text()
    assert "Aftaler med Karen" in text and "Vi ringer til dig kl. 8 og kl. 16." in text
    assert "Næste opfølgning" in text and "Udgave 2." in text
    assert await phone.evaluate("document.documentElement.scrollWidth <= 390")
    violations = await serious_violations(phone)
    assert not violations, describe(violations)
    path = await screenshot(phone, "relative-agreements-phone")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / path.name)
    pdf = await phone.pdf(format="A4", print_background=True)
    assert len(PDF_PAGE.findall(pdf)) == 1
    await phone.get_by_role("link", name="English").click()
    await phone.wait_for_url(re.compile(r"\?lang=en$"), timeout=WAIT_MS)
    assert await phone.locator("html").get_attribute("lang") == "en"
