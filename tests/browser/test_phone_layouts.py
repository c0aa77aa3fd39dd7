"""Staff pages on a phone (390×844): no sideways scrolling; wide tables scroll in their own box."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext

from tests.browser.axe import describe, serious_violations
from tests.browser.conftest import log_in

# Every staff page, each as a user who may open it.
PAGES = {
    "anna": ("/", "/call/1", "/citizens/1"),
    "vera": ("/citizens/1", "/citizens/1/plans", "/citizens", "/planning"),
    "pia": ("/figures", "/imports"),
    "admin": ("/admin", "/admin/audit"),
}


async def test_phone_pages_never_scroll_sideways(
    browser: BrowserContext, server: TestServer
) -> None:
    """Every staff page fits 390 px: day list, call view, citizen page, plan editor, search,
    planning, figures, imports, administration and audit log."""
    page = await browser.new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    for username, paths in PAGES.items():
        await page.context.clear_cookies()
        await log_in(page, server, username)
        for path in paths:
            await page.goto(str(server.make_url(path)))
            await page.wait_for_load_state("networkidle")
            if path == "/figures":
                await page.wait_for_function("document.querySelectorAll('.chart-legend li').length")
                # A chart's legend wraps inside its card instead of being cut at the edge.
                cut = await page.evaluate(
                    "[...document.querySelectorAll('.chart-legend li')]"
                    ".filter((li) => li.getBoundingClientRect().right > innerWidth)"
                    ".map((li) => li.textContent)"
                )
                assert not cut, f"legend entries cut on a phone: {cut}"
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
            violations = await serious_violations(page)
            assert not violations, f"{path}: {describe(violations)}"
