"""A person logs in through the real login page in Chromium."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from tests.browser.conftest import screenshot


async def test_login_page_nurse_reaches_start_page(
    browser: BrowserContext, server: TestServer
) -> None:
    """The demo nurse logs in and sees her start page with her teams."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")))
    assert page.url.endswith("/login?next=%2F")
    await screenshot(page, "staff-login")
    await page.get_by_label("Brugernavn").fill("anna")
    await page.get_by_label("Adgangskode").fill("demo1234")
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_selector("text=Goddag, Anna Jensen")
    assert "Team Nord" in await page.content()
    await screenshot(page, "staff-start")


async def test_login_page_wrong_password_shows_message(
    browser: BrowserContext, server: TestServer
) -> None:
    """A wrong password shows a clear message on the same page."""
    page = await browser.new_page()
    await page.goto(str(server.make_url("/login")))
    await page.get_by_label("Brugernavn").fill("anna")
    await page.get_by_label("Adgangskode").fill("forkert")
    await page.get_by_role("button", name="Log ind").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "Forkert brugernavn eller adgangskode" in await alert.inner_text()
