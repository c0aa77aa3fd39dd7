"""Playwright driving Debian's Chromium against the real server on a loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page, async_playwright

from server.app import create_app
from server.demo import DEMO_PASSWORD
from server.settings import Settings
from tests.databases import missing_service

CHROMIUM = os.environ.get("SCREENVISIT_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; missing it fails in CI and skips elsewhere."""
    if shutil.which(CHROMIUM) is None:
        missing_service(f"Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture
async def browser(tmp_path: Path, chromium_path: str) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium with its own profile directory."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
            # A Danish municipality's browsers: pages that follow Accept-Language speak Danish.
            locale="da-DK",
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def server(demo: Settings) -> AsyncIterator[TestServer]:
    """The real app with demo data, on 127.0.0.1 and a free port."""
    test_server = TestServer(create_app(demo), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def log_in(page: Page, server: TestServer, username: str) -> None:
    """Through the real login form, landing on the start page ("I dag" and the inbox)."""
    await page.goto(str(server.make_url("/login")))
    await page.get_by_label("Brugernavn").fill(username)
    await page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log ind").click()
    await page.wait_for_selector("#calllist", timeout=30_000)
