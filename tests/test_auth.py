"""Staff login through the real server: passwords, throttling, CSRF, scope and audit."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.app import create_app
from server.demo import DEMO_PASSWORD
from server.models import (
    AuditEvent,
    Citizen,
    LoginThrottle,
    Organisation,
    Role,
    Staff,
    Team,
    utcnow,
)
from server.pages.login import safe_next
from server.security import hash_password
from server.settings import Settings
from tests.conftest import Client, csrf_from, login, login_response
from tests.databases import transaction


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Run on both backends."""
    return both_backends


async def audit_actions(settings: Settings) -> list[tuple[str, str | None, str | None]]:
    """Every audit event as (action, actor, subject id), oldest first."""
    async with transaction(settings.database_url) as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.subject_id).order_by(
                AuditEvent.id
            )
        )
        return [(action, actor, subject) for action, actor, subject in rows]


async def citizen_of_team(settings: Settings, team: str) -> int:
    """The id of some citizen in ``team``."""
    async with transaction(settings.database_url) as session:
        found = await session.scalar(
            select(Citizen.id).join(Team, Team.id == Citizen.team_id).where(Team.name == team)
        )
        assert found is not None
        return found


async def test_login_success_sets_session_and_audits(client: Client, demo: Settings) -> None:
    """A right password redirects home with an HttpOnly, SameSite=Lax cookie and audits it."""
    response = await login_response(client, "anna")
    assert response.status == 303
    cookie = response.cookies["sv_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    home = await client.get("/")
    assert home.status == 200
    assert "Anna Jensen" in await home.text()
    assert ("login", "staff:anna", None) in [(a, b, None) for a, b, _ in await audit_actions(demo)]


async def test_login_wrong_password_is_refused_and_audited(client: Client, demo: Settings) -> None:
    """A wrong password gives 401 with a clear message and a failed-login audit event."""
    assert await login(client, "anna", "wrong") == 401
    actions = [a for a, _, _ in await audit_actions(demo)]
    assert actions == ["login.failed"]
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_login_unknown_user_looks_like_wrong_password(client: Client, demo: Settings) -> None:
    """An unknown username is answered exactly like a wrong password."""
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": "nobody", "password": "x", "csrf_token": csrf_from(await page.text())},
    )
    assert response.status == 401
    assert "Forkert brugernavn eller adgangskode" in await response.text()


async def test_login_delay_then_lockout(client: Client, demo: Settings) -> None:
    """After repeated failures attempts are delayed (429), then the username is locked."""
    statuses = [await login(client, "bo", "wrong") for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert await login(client, "bo", "wrong") == 429  # within the growing delay
    async with transaction(demo.database_url) as session:
        row = await session.get(LoginThrottle, "pair:bo|127.0.0.1")
        assert row is not None and row.failures == 3
        row.failures = 4  # fast-forward: the next failure reaches the lockout threshold
        row.last_failure_at = None
    assert await login(client, "bo", "wrong") == 401
    assert await login(client, "bo") == 429  # locked: even the right password is refused


async def test_post_without_csrf_is_403(client: Client, demo: Settings) -> None:
    """A state-changing request without the CSRF token is refused with csrf_failed."""
    await client.get("/login")
    response = await client.post("/login", data={"username": "anna", "password": "demo1234"})
    assert response.status == 403
    assert "csrf_failed" in await response.text()
    assert await login(client, "anna") == 303
    logout = await client.post("/logout", headers={"Accept": "application/json"})
    assert logout.status == 403
    assert (await logout.json())["error"]["code"] == "csrf_failed"
    # A bearer header skips the CSRF check, but then the login cookie lends no staff rights.
    bearer = {"Accept": "application/json", "Authorization": "Bearer anything-at-all"}
    assert (await client.get("/api/me", headers=bearer)).status == 401
    assert (await client.get("/api/me")).status == 200


async def test_logout_ends_session(client: Client, demo: Settings) -> None:
    """Logging out deletes the session; the old cookie no longer works."""
    await login(client, "anna")
    token = csrf_from(await (await client.get("/")).text())
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/api/me")).status == 401
    assert "logout" in [a for a, _, _ in await audit_actions(demo)]


async def test_nurse_cannot_read_other_team_citizen(client: Client, demo: Settings) -> None:
    """A Team Nord nurse reading a Team Syd citizen gets 403 and the denial is audited."""
    other = await citizen_of_team(demo, "Team Syd")
    await login(client, "anna")
    response = await client.get(f"/api/citizens/{other}")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"
    assert ("citizen.read_denied", "staff:anna", str(other)) in await audit_actions(demo)


async def test_citizen_read_is_audited_and_scoped(client: Client, demo: Settings) -> None:
    """Reading an own-team citizen works and is audited; lists show only own-team citizens."""
    own = await citizen_of_team(demo, "Team Nord")
    await login(client, "anna")
    detail = await client.get(f"/api/citizens/{own}")
    assert detail.status == 200
    assert [c["display_name"] for c in (await detail.json())["contact_persons"]]
    assert ("citizen.read", "staff:anna", str(own)) in await audit_actions(demo)
    listing = await (await client.get("/api/citizens")).json()
    assert len(listing["citizens"]) == 10


async def test_planner_sees_whole_organisation(client: Client, demo: Settings) -> None:
    """Visitators see every citizen of their organisation."""
    await login(client, "vera")
    listing = await (await client.get("/api/citizens")).json()
    assert len(listing["citizens"]) == 21  # 20 with demo tablets, and Gerda (SMS)


async def test_parallel_guesses_are_throttled_like_serial_ones(
    client: Client, demo: Settings
) -> None:
    """A burst of simultaneous wrong passwords cannot all be tried before the delay applies."""
    import asyncio

    token = csrf_from(await (await client.get("/login")).text())
    form = {"username": "anna", "password": "wrong", "csrf_token": token}
    responses = await asyncio.gather(
        *(client.post("/login", data=form, allow_redirects=False) for _ in range(8))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(401) == 3 and statuses.count(429) == 5


async def test_client_address_behind_trusted_proxy(aiohttp_client, demo: Settings) -> None:  # type: ignore[no-untyped-def]
    """Behind nginx (a trusted proxy) the audit log records the tablet's or PC's own address."""
    import dataclasses

    from server.app import create_app

    proxied = dataclasses.replace(demo, trusted_proxies=("127.0.0.1",))
    client = await aiohttp_client(create_app(proxied))
    headers = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"}
    token = csrf_from(await (await client.get("/login", headers=headers)).text())
    form = {"username": "anna", "password": "wrong", "csrf_token": token}
    assert (await client.post("/login", data=form, headers=headers)).status == 401
    async with transaction(demo.database_url) as session:
        remote = await session.scalar(
            select(AuditEvent.remote).where(AuditEvent.action == "login.failed")
        )
    assert remote == "203.0.113.7"
    spoofed = await aiohttp_client(create_app(demo))  # no trusted proxy: the header is ignored
    token = csrf_from(await (await spoofed.get("/login")).text())
    form["csrf_token"] = token
    await spoofed.post("/login", data=form, headers={"X-Forwarded-For": "198.51.100.1"})
    async with transaction(demo.database_url) as session:
        remotes = set(
            await session.scalars(
                select(AuditEvent.remote).where(AuditEvent.action == "login.failed")
            )
        )
    assert "198.51.100.1" not in remotes


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/citizens/3", "/citizens/3"),
        ("/planning?team=2#today", "/planning?team=2#today"),
        ("/\t/evil.example", "/"),  # a browser drops the tab: //evil.example
        ("/\n/evil.example", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/\x00", "/"),
    ],
)
def test_only_same_site_paths_are_followed_after_login(target: str, followed: str) -> None:
    assert safe_next(target) == followed


async def test_login_with_a_tab_in_next_stays_on_the_site(client: Client, demo: Settings) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": "anna",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_from(await page.text()),
            "next": "/\t/evil.example",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/"


async def proxied_client(aiohttp_client: Any, demo: Settings) -> Client:
    """A client of an app behind a trusted proxy, so each request can come from its own address."""
    import dataclasses

    from server.app import create_app

    app = create_app(dataclasses.replace(demo, trusted_proxies=("127.0.0.1",)))
    client: Client = await aiohttp_client(app)
    return client


async def login_from(client: Client, address: str, username: str, password: str) -> int:
    headers = {"X-Forwarded-For": address}
    token = csrf_from(await (await client.get("/login", headers=headers)).text())
    form = {"username": username, "password": password, "csrf_token": token}
    response = await client.post("/login", data=form, headers=headers, allow_redirects=False)
    return response.status


async def test_a_stranger_cannot_lock_a_nurse_out(aiohttp_client: Any, demo: Settings) -> None:
    """Failures from one address lock that address only; the nurse logs in from her own."""
    client = await proxied_client(aiohttp_client, demo)
    async with transaction(demo.database_url) as session:
        # Fast-forward past the delays: the next failure reaches the lock (5 in tests).
        session.add(LoginThrottle(key="pair:dennis|203.0.113.9", failures=4))
    assert await login_from(client, "203.0.113.9", "dennis", "wrong") == 401
    assert await login_from(client, "203.0.113.9", "dennis", DEMO_PASSWORD) == 429  # locked
    assert await login_from(client, "198.51.100.20", "dennis", DEMO_PASSWORD) == 303


async def test_guessing_across_usernames_from_one_address_is_slowed(
    aiohttp_client: Any, demo: Settings
) -> None:
    """Password spraying: one address trying many usernames meets a growing delay."""
    client = await proxied_client(aiohttp_client, demo)
    address = "203.0.113.10"
    async with transaction(demo.database_url) as session:
        session.add(
            LoginThrottle(key=f"address:{address}", failures=demo.login_address_delay_after)
        )
    statuses = [await login_from(client, address, name, "wrong") for name in ("x1", "x2")]
    assert statuses == [401, 429]
    assert await login_from(client, "198.51.100.21", "anna", DEMO_PASSWORD) == 303  # others pass


async def test_guessing_one_username_from_many_addresses_delays_but_never_locks(
    aiohttp_client: Any, demo: Settings
) -> None:
    """Spread over addresses, guesses meet a delay on the account; once it has passed, the
    right password works (nothing locks the account)."""
    client = await proxied_client(aiohttp_client, demo)
    for n in range(demo.login_account_delay_after):
        assert await login_from(client, f"203.0.113.{100 + n}", "carla", "wrong") == 401
    assert await login_from(client, "198.51.100.22", "carla", DEMO_PASSWORD) == 429
    async with transaction(demo.database_url) as session:
        row = await session.get(LoginThrottle, "account:carla")
        assert row is not None and row.locked_until is None
        row.last_failure_at = utcnow() - dt.timedelta(minutes=2)  # the delay has passed
    assert await login_from(client, "198.51.100.22", "carla", DEMO_PASSWORD) == 303


async def test_deactivation_ends_sessions_for_good(
    client: Client, aiohttp_client: Any, demo: Settings
) -> None:
    """A nurse's old cookie does not come back to life when she is reactivated."""
    assert await login(client, "bo") == 303
    bo_id = (await (await client.get("/api/me")).json())["staff_id"]
    admin = await aiohttp_client(client.server)
    assert await login(admin, "admin") == 303
    token = (await (await admin.get("/api/me")).json())["csrf_token"]
    for active in (False, True):
        response = await admin.post(
            f"/api/admin/staff/{bo_id}/active",
            json={"active": active},
            headers={"X-CSRF-Token": token},
        )
        assert response.status == 200, await response.text()
    assert (await client.get("/api/me")).status == 401


async def test_two_admins_taking_one_username_at_once(aiohttp_client: Any, demo: Settings) -> None:
    """The same new username posted twice at once: one is created, the other hears 'taken'
    (409), never a 500 from the database's unique constraint."""
    admin = await aiohttp_client(create_app(demo))
    assert await login(admin, "admin") == 303
    token = (await (await admin.get("/api/me")).json())["csrf_token"]
    body = {
        "username": "ny-kollega",
        "display_name": "Ny Kollega",
        "role": "carer",
        "team_ids": [],
        "password": "a-long-enough-password",
    }
    posts = [
        admin.post("/api/admin/staff", json=body, headers={"X-CSRF-Token": token}) for _ in range(4)
    ]
    statuses = sorted(r.status for r in await asyncio.gather(*posts))
    assert statuses == [201, 409, 409, 409], statuses


async def neighbour_admin(settings: Settings) -> None:
    """A second municipality in the same installation, with an administrator 'nabo-admin'."""
    async with transaction(settings.database_url) as session:
        org = Organisation(slug="nabo", name="Nabokommune")
        session.add(org)
        await session.flush()
        session.add(
            Staff(
                organisation_id=org.id,
                username="nabo-admin",
                display_name="Nabo Admin",
                role=Role.ADMIN,
                password_hash=hash_password(DEMO_PASSWORD),
            )
        )


async def organisation_of(client: Client) -> int:
    """The organisation of the signed-in person."""
    me: dict[str, Any] = await (await client.get("/api/me")).json()
    return int(me["organisation_id"])


async def test_usernames_belong_to_their_organisation(aiohttp_client: Any, demo: Settings) -> None:
    """Another municipality's administrator can take a username the demo organisation has (so
    'taken' tells her nothing about it), only her own names are 'taken', and each Anna signs
    in to her own organisation by her own password; where both passwords fit, the form asks
    which organisation."""
    await neighbour_admin(demo)
    admin = await aiohttp_client(create_app(demo))
    assert await login(admin, "nabo-admin") == 303
    token = (await (await admin.get("/api/me")).json())["csrf_token"]
    body = {
        "username": "anna",
        "display_name": "Anna Nabo",
        "role": "nurse",
        "team_ids": [],
        "password": "naboens-egen-adgangskode",
    }
    headers = {"X-CSRF-Token": token}
    assert (await admin.post("/api/admin/staff", json=body, headers=headers)).status == 201
    again = await admin.post("/api/admin/staff", json=body, headers=headers)
    assert again.status == 409
    nabo = await organisation_of(admin)
    demo_anna = await aiohttp_client(admin.server)
    assert await login(demo_anna, "anna") == 303
    assert await organisation_of(demo_anna) != nabo
    nabo_anna = await aiohttp_client(admin.server)
    assert await login(nabo_anna, "anna", "naboens-egen-adgangskode") == 303
    assert await organisation_of(nabo_anna) == nabo
    async with transaction(demo.database_url) as session:
        twin = await session.scalar(
            select(Staff).where(Staff.username == "anna", Staff.organisation_id == nabo)
        )
        assert twin is not None
        twin.password_hash = hash_password(DEMO_PASSWORD)
    both = await aiohttp_client(admin.server)
    asked = await login_response(both, "anna", DEMO_PASSWORD)
    assert asked.status == 200
    page = await asked.text()
    assert 'name="organisation"' in page and "Nabokommune" in page
    chosen = await both.post(
        "/login",
        data={
            "username": "anna",
            "password": DEMO_PASSWORD,
            "organisation": "nabo",
            "csrf_token": csrf_from(page),
        },
        allow_redirects=False,
    )
    assert chosen.status == 303
    assert await organisation_of(both) == nabo
