"""Tablets are enrolled and revoked by the roles the organisation chooses (admin by default),
and HSTS is sent when the server speaks TLS."""

from __future__ import annotations

import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from server.orgsettings import OrgSettings, read_settings
from server.settings import Settings
from server.vocabulary import Role
from tests.conftest import Client
from tests.kiosk_web.test_enrolment_api import staff_csrf
from tests.test_cli import cli_env, free_port, run_cli, wait_https  # noqa: F401  (fixture)

KAREN = 1  # Team Nord's, like Anna (nurse) and Carla (carer)


async def as_user(client: Client, username: str) -> dict[str, str]:
    """Sign in as ``username`` in this client (forgetting the previous person's cookie)."""
    client.session.cookie_jar.clear()
    return {"X-CSRF-Token": await staff_csrf(client, username)}


async def tablet_calls(client: Client, csrf: dict[str, str]) -> tuple[Any, Any]:
    """An enrolment with a wrong code and a revocation: the two answers' status and error."""
    enrol = await client.post(f"/api/citizens/{KAREN}/enrol", json={"code": "999999"}, headers=csrf)
    revoke = await client.post(f"/api/citizens/{KAREN}/kiosk/revoke", json={}, headers=csrf)
    return (enrol.status, (await enrol.json()).get("error", {}).get("code")), (
        revoke.status,
        (await revoke.json()).get("error", {}).get("code"),
    )


async def set_tablet_roles(client: Client, roles: list[str]) -> list[str]:
    """The administrator stores ``roles``; the stored list comes back."""
    csrf = await as_user(client, "admin")
    current = await (await client.get("/api/admin/settings")).json()
    saved = await client.post(
        "/api/admin/settings", json=current | {"tablet_roles": roles}, headers=csrf
    )
    assert saved.status == 200, await saved.text()
    return list((await saved.json())["tablet_roles"])


def test_a_new_organisation_leaves_tablets_to_administrators() -> None:
    """No stored choice means admin only; the administrator cannot be left out."""
    assert read_settings({}).tablet_roles == [Role.ADMIN]
    assert OrgSettings(tablet_roles=[Role.CARER]).tablet_roles == [Role.CARER, Role.ADMIN]


async def test_roles_outside_the_choice_are_refused_with_a_stable_code(
    demo: Settings, client: Client
) -> None:
    """Admin only: a nurse and a carer of the citizen's own team get 403 tablet_role_refused
    (with a message a person can read) on enrol and revoke; the administrator passes."""
    assert await set_tablet_roles(client, []) == ["admin"]
    for username in ("anna", "carla"):
        enrol, revoke = await tablet_calls(client, await as_user(client, username))
        assert enrol == (403, "tablet_role_refused") and revoke == (403, "tablet_role_refused")
    refused = await client.post(
        f"/api/citizens/{KAREN}/kiosk/revoke", json={}, headers=await as_user(client, "carla")
    )
    assert "administrator" in (await refused.json())["error"]["message"]
    enrol, revoke = await tablet_calls(client, await as_user(client, "admin"))
    assert enrol[1] == "pairing_code_invalid"  # past the role check, to the code
    assert revoke == (200, None)


async def test_the_organisation_can_trust_carers_with_tablets(
    demo: Settings, client: Client
) -> None:
    """The demo lets nurses (not carers); adding the carer role lets Carla revoke."""
    carla = await as_user(client, "carla")
    _, revoke = await tablet_calls(client, carla)
    assert revoke == (403, "tablet_role_refused")
    _, revoke = await tablet_calls(client, await as_user(client, "anna"))
    assert revoke == (200, None)
    assert await set_tablet_roles(client, ["carer", "nurse"]) == ["nurse", "carer", "admin"]
    _, revoke = await tablet_calls(client, await as_user(client, "carla"))
    assert revoke == (200, None)
    await as_user(client, "admin")
    page = await (await client.get("/admin")).text()
    assert 'name="tablet_roles" value="carer" checked' in page


def test_hsts_and_csp_are_sent_under_tls(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """The real server over HTTPS: Strict-Transport-Security on pages, and the CSP keeps the
    socket on this server."""
    out = tmp_path / "tls"
    made = run_cli("make-cert", "--out", str(out), "127.0.0.1", env=cli_env)
    assert made.returncode == 0, made.stderr
    port = free_port()
    tls = ("--tls-cert", str(out / "cert.pem"), "--tls-key", str(out / "key.pem"))
    command = [sys.executable, "-m", "server", "serve", "--migrate", "--port", str(port), *tls]
    server = subprocess.Popen(
        command, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert wait_https(port, out / "cert.pem") == 200
        context = ssl.create_default_context(cafile=str(out / "cert.pem"))
        url = f"https://127.0.0.1:{port}/login"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            headers = response.headers
        assert headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "connect-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_the_citizen_page_offers_tablet_buttons_only_to_the_chosen_roles(
    demo: Settings, client: Client
) -> None:
    """The demo lets nurses manage tablets, not carers: Anna sees the pairing form, Carla is
    told to ask an administrator instead of meeting a refusal."""
    await as_user(client, "anna")
    page = await (await client.get(f"/citizens/{KAREN}")).text()
    assert 'id="enrol-form"' in page
    await as_user(client, "carla")
    page = await (await client.get(f"/citizens/{KAREN}")).text()
    assert 'id="enrol-form"' not in page and "data-revoke=" not in page
    assert "Bed en administrator om at tilknytte eller spærre en tablet." in page
