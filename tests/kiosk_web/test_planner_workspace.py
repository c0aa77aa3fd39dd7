"""Issue 11 in Chromium: a nurse finds a citizen and rings her tablet from her page; the
medication checklist ticked in the call view is stored; the admin enrols a tablet from the
tablet table; the planner's menu and /planning fit a 390 px phone."""

# ruff: noqa: F811  (the browser fixtures are imported by name from tests/browser/conftest.py)

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page

from server.settings import Settings
from tests.browser.conftest import browser, chromium_path, log_in, server  # noqa: F401
from tests.kiosk_web.conftest import (
    WAIT_MS,
    StaffHttp,
    add_visit_now,
    open_kiosk,
    wait_screen,
)

SIZES = {"tablet": (1024, 600), "laptop": (1366, 768), "phone": (390, 844)}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


async def test_nurse_searches_a_citizen_and_rings_her_tablet(
    tablet: Page, browser: BrowserContext, server: TestServer
) -> None:
    """Borgere → search "sørensen" → Karen's page → Ring op → her tablet rings → answered."""
    console = await browser.new_page()
    await log_in(console, server, "anna")
    await console.get_by_role("navigation").get_by_role("link", name="Borgere").click()
    await console.get_by_label("Søg på navn").fill("SØRENSEN")
    await console.get_by_role("button", name="Søg", exact=True).click()
    await console.get_by_role("link", name="Karen Sørensen").click()
    ring = console.locator("a#ring-citizen")
    await ring.wait_for(timeout=WAIT_MS)
    await ring.click()
    await wait_screen(tablet, "ringing")
    assert "Anna Jensen" in await tablet.inner_text("#screen-ringing")
    await tablet.get_by_role("button", name="Svar").click()
    await console.locator('#callview[data-call-state="active"]').wait_for(timeout=WAIT_MS)
    await console.get_by_role("button", name="Læg på").click()
    await wait_screen(tablet, "idle")


async def test_checklist_ticked_in_the_call_view_is_stored(
    browser: BrowserContext, server: TestServer, demo: Settings, anna_http: StaffHttp
) -> None:
    """Two of five medication steps ticked, then Gennemført: all five stored, two confirmed."""
    visit_id = await add_visit_now(demo, 1, "medication")
    console = await browser.new_page()
    await log_in(console, server, "anna")
    await console.goto(str(server.make_url(f"/call/1?visit={visit_id}&document=1")))
    steps = console.locator('.guidance input[name="step"]')
    assert await steps.count() == 5
    await steps.nth(0).check()
    await steps.nth(2).check()
    form = console.locator("#outcome-form")
    await form.get_by_role("button", name="Gennemført", exact=True).click()
    await console.locator("#outcome-status").get_by_text("Gemt.").wait_for(timeout=WAIT_MS)
    _, history = await anna_http.get(f"/api/visits/{visit_id}/outcomes")
    checklist = history["outcomes"][0]["checklist"]
    assert [(s["step"], s["confirmed"]) for s in checklist] == [
        (1, True),
        (2, False),
        (3, True),
        (4, False),
        (5, False),
    ]
    assert checklist[0]["text"].startswith("Doseringsæsken er klar")


async def test_admin_enrols_a_tablet_from_the_tablet_table(
    browser: BrowserContext, server: TestServer
) -> None:
    """A new tablet shows its code; the admin types it, picks Poul, and the tablet is his."""
    new_tablet = await open_kiosk(browser, server, None)
    await wait_screen(new_tablet, "pairing")
    code_el = new_tablet.locator("#pairing-code[data-code]")
    await code_el.wait_for(timeout=WAIT_MS)
    code = await code_el.get_attribute("data-code")
    assert code is not None
    admin = await browser.new_page()
    await admin.goto(str(server.make_url("/login")))
    await admin.get_by_label("Brugernavn").fill("admin")
    await admin.get_by_label("Adgangskode").fill("demo1234")
    await admin.get_by_role("button", name="Log ind").click()
    await admin.goto(str(server.make_url("/admin")))
    form = admin.locator("#tablet-enrol-form")
    await form.get_by_role("button", name="Tilknyt tablet").click()  # nothing chosen yet
    await form.get_by_text("Vælg borger og skriv koden").wait_for(timeout=WAIT_MS)
    await form.get_by_label("Parringskode fra tabletten").fill(code)
    await form.get_by_label("Borger").select_option(label="Poul Andersen")
    await form.get_by_role("button", name="Tilknyt tablet").click()
    await wait_screen(new_tablet, "start")
    await admin.wait_for_load_state("load")
    rows = admin.locator("section[aria-labelledby='tablets-title'] tbody tr")
    await rows.filter(has_text="Poul Andersen").first.wait_for(timeout=WAIT_MS)


async def test_planner_menu_and_planning_fit_every_screen(
    browser: BrowserContext, server: TestServer, anna_http: StaffHttp, demo: Settings
) -> None:
    """Pia's menu has Planlægning and Import; /planning shows Tildel; no sideways scroll."""
    visit_id = await add_visit_now(demo, 3, "wake_up")  # Inger, Team Nord
    status, _ = await anna_http.post(f"/api/visits/{visit_id}/assign", {"unassign": True})
    assert status == 200
    page = await browser.new_page()
    await log_in(page, server, "pia")
    menu = page.get_by_role("navigation")
    for name in ("I dag", "Indbakke", "Borgere", "Planlægning", "Import", "Nøgletal"):
        assert await menu.get_by_role("link", name=name).count() == 1, name
    await menu.get_by_role("link", name="Planlægning").click()
    row = page.locator(f'#unassigned li[data-visit-id="{visit_id}"]')
    await row.wait_for(timeout=WAIT_MS)
    for width, height in SIZES.values():
        await page.set_viewport_size({"width": width, "height": height})
        assert await page.evaluate(NO_SIDEWAYS_SCROLL), (width, height)
    await row.get_by_role("button", name="Tildel").click()
    await row.get_by_text("Tildelt.").wait_for(timeout=WAIT_MS)
    _, after = await anna_http.get(f"/api/visits/{visit_id}/outcomes")
    assert after["status"] != "done"
    await page.goto(str(server.make_url("/citizens")))
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
