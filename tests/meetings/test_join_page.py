"""The guest's /join page on SQLite and PostgreSQL: clear refusal pages with an audit event,
the PIN, the first device remembered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from server.meetings.access import DEVICE_COOKIE
from server.settings import Settings
from tests.conftest import Client, csrf_from, login
from tests.console.conftest import csrf
from tests.meetings import seed


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


async def invite(client: Client, visit: int, **body: Any) -> dict[str, Any]:
    """Create an invite as the logged-in host; the answer (url, pin, invite)."""
    body = {"kind": "guest", "name": "Tolk Hassan"} | body
    response = await client.post(
        f"/api/visits/{visit}/invites", json=body, headers=await csrf(client)
    )
    assert response.status == 201, await response.text()
    made: dict[str, Any] = await response.json()
    made["path"] = "/join/" + made["url"].rsplit("/", 1)[1]
    return made


async def page(client: Client, path: str) -> tuple[int, str]:
    """GET a join page: status and HTML."""
    response = await client.get(path)
    return response.status, await response.text()


async def test_unusable_links_get_a_clear_page_and_an_audit_event(
    client: Client, demo: Settings
) -> None:
    """Unknown, not yet open, over, revoked and consent-withdrawn links: the reason, no names."""
    await login(client, "anna")
    soon = await seed.meeting(demo)
    later = await seed.meeting(demo, starts_in=dt.timedelta(hours=3))
    relative = await seed.relative_of(demo)
    revoked = await invite(client, soon)
    expired = await invite(client, soon)
    not_yet = await invite(client, later)
    withdrawn = await invite(client, soon, kind="relative", relative_id=relative, name=None)
    headers = await csrf(client)
    await client.delete(f"/api/invites/{revoked['invite']['id']}", headers=headers)
    await seed.expire_invite(demo, expired["invite"]["id"])
    await seed.withdraw_join_consent(demo, relative)
    cases = [
        ("/join/" + "x" * 43, 404, "unknown"),
        ("/join/short", 404, "unknown"),
        (revoked["path"], 410, "revoked"),
        (expired["path"], 410, "expired"),
        (not_yet["path"], 403, "not_yet"),
        (withdrawn["path"], 403, "consent_withdrawn"),
    ]
    for path, want_status, reason in cases:
        status, html = await page(client, path)
        assert status == want_status, path
        assert f'data-reason="{reason}"' in html
        assert "Karen" not in html and "Tolk" not in html and "Ida" not in html
    details = await seed.audit_details(demo, "invite.refused")
    assert [d["reason"] for d in details] == [reason for _, _, reason in cases]


async def test_a_valid_link_remembers_the_first_device(client: Client, demo: Settings) -> None:
    """The first device is remembered; another device still gets the page (the host decides)."""
    await login(client, "anna")
    made = await invite(client, await seed.meeting(demo))
    status, html = await page(client, made["path"])
    assert status == 200 and 'data-state="ready"' in html and 'value="Tolk Hassan"' in html
    assert client.session.cookie_jar.filter_cookies(client.make_url("/")).get(DEVICE_COOKIE)
    await page(client, made["path"])  # the same device again
    client.session.cookie_jar.clear(lambda c: c.key == DEVICE_COOKIE)
    status, _ = await page(client, made["path"])
    assert status == 200
    opened = await seed.audit_details(demo, "invite.open")
    assert [d["another_device"] for d in opened] == [False, False, True]


async def test_the_pin_is_asked_and_wrong_pins_lock_the_invite(
    client: Client, demo: Settings
) -> None:
    """A PIN invite asks first; the right PIN lets this device in; five wrong ones lock it."""
    await login(client, "anna")
    visit = await seed.meeting(demo)
    made = await invite(client, visit, pin=True)
    status, html = await page(client, made["path"])
    assert status == 200 and 'data-state="pin"' in html
    token = csrf_from(html)
    wrong = "000000" if made["pin"] != "000000" else "111111"
    response = await client.post(made["path"], data={"pin": wrong, "csrf_token": token})
    assert response.status == 401
    response = await client.post(
        made["path"], data={"pin": made["pin"], "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    status, html = await page(client, made["path"])
    assert status == 200 and 'data-state="ready"' in html
    other = await invite(client, visit, pin=True)
    statuses = []
    for _ in range(5):
        bad = "000000" if other["pin"] != "000000" else "111111"
        response = await client.post(other["path"], data={"pin": bad, "csrf_token": token})
        statuses.append(response.status)
    assert statuses == [401, 401, 401, 401, 429]
    status, html = await page(client, other["path"])
    assert status == 429 and 'data-reason="locked"' in html
    actions = await seed.audit_actions(demo)
    assert actions.count("invite.pin_wrong") == 6 and actions.count("invite.pin_ok") == 1
