"""Ida rings her mother's web tablet from her call link in Chromium: the tablet shows
"Ida ringer – din datter" with no countdown, Karen answers, video flows, Ida hangs up."""

# ruff: noqa: F811  (fixtures imported from the kiosk's browser tests)

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import BrowserContext, Page
from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import Citizen, Organisation, Relative
from server.sealing import development_keyring
from server.settings import Settings
from tests.kiosk_web.conftest import (  # noqa: F401  (fixtures)
    KAREN,
    StaffHttp,
    anna_http,
    tablet,
    wait_screen,
    wait_true,
)

REMOTE_PLAYING = (
    "[...document.querySelectorAll('#remote-videos video')].some(v => v.videoWidth > 0)"
)


async def allow_calls(settings: Settings) -> int:
    """Karen's organisation lets relatives call (as the admin page would); Ida's id."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            citizen = await session.get(Citizen, int(KAREN))
            assert citizen is not None
            org = await session.get(Organisation, citizen.organisation_id)
            assert org is not None
            org.settings = {**(org.settings or {}), "relatives_may_call": True}
            ida = await session.scalar(select(Relative.id).where(Relative.citizen_id == citizen.id))
            assert ida is not None
            return ida
    finally:
        await engine.dispose()


async def test_ida_rings_the_tablet_karen_answers_and_ida_hangs_up(
    tablet: Page, anna_http: StaffHttp, browser: BrowserContext, server: TestServer, demo: Settings
) -> None:
    """The relative's page rings; the tablet names her and her relation; both see video."""
    ida = await allow_calls(demo)
    body = {"permissions": {"call": True}, "given_by": {"kind": "citizen"}}
    assert (await anna_http.post(f"/api/relatives/{ida}/permissions", body))[0] == 200
    path = f"/api/citizens/{KAREN}/relatives/{ida}/links"
    status, link = await anna_http.post(path, {"purpose": "call"})
    assert status == 201, link
    phone = await browser.new_page()
    phone.on("pageerror", lambda exc: print(f"[relative error] {exc}"))
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(str(server.make_url("/r/" + link["url"].rsplit("/", 1)[1])))
    await phone.wait_for_selector("#device-status[data-result='ok']")
    await phone.get_by_role("button", name="Ring til Karen").click()
    await wait_screen(tablet, "ringing")
    ringing = await tablet.inner_text("#screen-ringing")
    assert "Ida ringer" in ringing and "din datter" in ringing
    assert await tablet.is_hidden("#auto-answer")  # a relative's ring is never auto-answered
    await phone.wait_for_selector("#relative-call[data-step='ringing']")
    await tablet.get_by_role("button", name="Svar").click()
    await wait_screen(tablet, "call")
    await phone.wait_for_selector("#relative-call[data-step='call']")
    await wait_true(phone, REMOTE_PLAYING)
    await wait_true(tablet, "document.querySelector('#remote-video').videoWidth > 0")
    await phone.get_by_role("button", name="Læg på").click()  # the visible one, in the call
    await wait_screen(tablet, "idle")
    assert await phone.evaluate("document.getElementById('relative-call').dataset.over") == "ended"
