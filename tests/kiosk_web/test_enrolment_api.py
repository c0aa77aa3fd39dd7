"""Enrolment, call-back and self-test JSON APIs against the real app (no browser)."""

from __future__ import annotations

import re
import secrets

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.conftest import Client
from tests.signaling.wsclient import kiosk_socket, staff_socket

KAREN = 1


async def staff_csrf(client: Client, username: str = "anna") -> str:
    """Log in (the client keeps the cookie) and read the CSRF token from the start page."""
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token
    form = {"username": username, "password": "demo1234", "csrf_token": token.group(1)}
    await client.post("/login", data=form, allow_redirects=False)
    start = await client.get("/")
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', await start.text())
    assert meta
    return meta.group(1)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a tablet."""
    return {"Authorization": f"Bearer {token}"}


async def test_pairing_token_is_delivered_once_and_replaces_the_old_tablet(
    demo: Settings, client: Client
) -> None:
    """The tablet gets its token on one poll only; the citizen's previous tablet is revoked."""
    secret = secrets.token_urlsafe(32)
    assert (await client.get("/api/kiosk/pairing", headers=bearer(secret))).status == 200
    started = await client.post("/api/kiosk/pairing", json={}, headers=bearer(secret))
    assert started.status == 201
    code = (await started.json())["code"]
    assert len(code) == 6 and code.isdigit()
    assert (await (await client.get("/api/kiosk/pairing", headers=bearer(secret))).json()) == {
        "status": "waiting",
        "token": None,
        "citizen_name": None,
    }
    csrf = await staff_csrf(client)
    enrolled = await client.post(
        f"/api/citizens/{KAREN}/enrol",
        json={"code": f"{code[:3]} {code[3:]}"},
        headers={"X-CSRF-Token": csrf},
    )
    assert enrolled.status == 200, await enrolled.text()
    first = await (await client.get("/api/kiosk/pairing", headers=bearer(secret))).json()
    assert first["status"] == "enrolled" and first["citizen_name"] == "Karen"
    again = await (await client.get("/api/kiosk/pairing", headers=bearer(secret))).json()
    assert again == {"status": "claimed", "token": None, "citizen_name": None}
    me = await client.get("/api/kiosk/me", headers=bearer(first["token"]))
    assert me.status == 200 and (await me.json())["citizen_name"] == "Karen"
    old = await client.get("/api/kiosk/me", headers=bearer(demo_kiosk_token(demo, 0)))
    assert old.status == 403


async def test_wrong_codes_are_limited_per_staff_member(demo: Settings, client: Client) -> None:
    """Five wrong codes, then 429 with Retry-After; a staff member outside the team gets 403."""
    csrf = await staff_csrf(client)
    for _ in range(5):
        wrong = await client.post(
            f"/api/citizens/{KAREN}/enrol", json={"code": "999999"}, headers={"X-CSRF-Token": csrf}
        )
        assert (await wrong.json())["error"]["code"] == "pairing_code_invalid"
    limited = await client.post(
        f"/api/citizens/{KAREN}/enrol", json={"code": "999999"}, headers={"X-CSRF-Token": csrf}
    )
    assert limited.status == 429 and "Retry-After" in limited.headers
    other = await client.post(  # Poul is Team Syd's
        "/api/citizens/2/enrol", json={"code": "12345"}, headers={"X-CSRF-Token": csrf}
    )
    assert other.status == 429  # the limit applies before anything else


async def test_call_back_request_reaches_the_team_console_once(
    demo: Settings, client: Client
) -> None:
    """The "Ring til mig" button creates one alert and pushes it to Team Nord's open consoles."""
    anna = await staff_socket(client, "anna")
    token = demo_kiosk_token(demo, 0)
    pressed = await client.post("/api/kiosk/call-back", json={}, headers=bearer(token))
    assert pressed.status == 201
    body = await pressed.json()
    assert body["repeated"] is False
    alert = await anna.expect("alert")
    assert alert["kind"] == "call_back_request" and alert["citizen_id"] == str(KAREN)
    assert "Karen" in alert["message"]
    again = await client.post("/api/kiosk/call-back", json={}, headers=bearer(token))
    assert (await again.json()) == {"alert_id": body["alert_id"], "repeated": True}


async def test_self_test_results_show_as_readiness(demo: Settings, client: Client) -> None:
    """A failed self-test is stored and shows in readiness with the part that failed."""
    token = demo_kiosk_token(demo, 0)
    kiosk = await kiosk_socket(client, demo, 0)
    result = {"ok": False, "failed_part": "camera", "rtt_ms": 12.5, "loss_pct": 0.0}
    stored = await client.post("/api/kiosk/selftest", json=result, headers=bearer(token))
    assert stored.status == 201
    await staff_csrf(client)
    readiness = await (await client.get("/api/citizens/readiness")).json()
    karen = next(c for c in readiness["citizens"] if c["citizen_id"] == KAREN)
    assert karen["online"] is True and karen["ready"] is False
    assert karen["problem"] == "selftest_failed:camera"
    assert karen["selftest"]["rtt_ms"] == 12.5
    await kiosk.ws.close()


async def test_device_apis_refuse_missing_or_unknown_tokens(demo: Settings, client: Client) -> None:
    """No bearer → 401, unknown token → 403, a broken self-test offer → 400 with its code."""
    assert (await client.get("/api/kiosk/me")).status == 401
    unknown = await client.get("/api/kiosk/me", headers=bearer("x" * 32))
    assert unknown.status == 403
    offer = await client.post(
        "/api/selftest/offer",
        json={"type": "offer", "sdp": "v=0\r\n"},
        headers=bearer(demo_kiosk_token(demo, 0)),
    )
    assert offer.status == 400
    assert (await offer.json())["error"]["code"] == "selftest_offer_invalid"
