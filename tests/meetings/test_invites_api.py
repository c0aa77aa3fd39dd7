"""The meeting-invite JSON API on SQLite and PostgreSQL: create, list, revoke, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import MeetingInvite
from server.sealing import development_keyring
from server.security import token_hash
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.meetings import seed


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


async def post(client: Client, path: str, body: object) -> tuple[int, dict[str, Any]]:
    """POST JSON with the logged-in client's CSRF header."""
    response = await client.post(path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def stored_hashes(settings: Settings) -> list[str]:
    """The token hashes in the database."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(MeetingInvite.token_hash)))
    finally:
        await engine.dispose()


async def test_nurse_invites_a_relative_and_a_guest_with_a_pin(
    client: Client, demo: Settings
) -> None:
    """The link and PIN come back once; only the token's hash is stored; the list shows both."""
    visit = await seed.meeting(demo)
    relative = await seed.relative_of(demo)
    await login(client, "anna")
    status, made = await post(
        client, f"/api/visits/{visit}/invites", {"kind": "relative", "relative_id": relative}
    )
    assert status == 201, made
    assert "/join/" in made["url"] and made["pin"] is None and made["emailed"] is False
    assert made["invite"]["state"] == "open"  # the meeting starts in 5 min: opens 15 before
    token = made["url"].rsplit("/", 1)[1]
    assert await stored_hashes(demo) == [token_hash(token)]
    status, guest = await post(
        client,
        f"/api/visits/{visit}/invites",
        {"kind": "guest", "name": "Tolk Hassan", "email": "tolk@example.dk", "pin": True},
    )
    assert status == 201, guest
    assert len(guest["pin"]) == 6 and guest["pin"].isdigit()
    assert guest["invite"]["has_pin"] is True
    listing = await (await client.get(f"/api/visits/{visit}/invites")).json()
    assert [i["name"] for i in listing["invites"]] == ["Ida Sørensen", "Tolk Hassan"]
    assert "url" not in listing["invites"][0] and "pin" not in listing["invites"][1]
    assert await seed.audit_actions(demo) == ["invite.create", "invite.create"]


async def test_invalid_invites_get_stable_codes(client: Client, demo: Settings) -> None:
    """Bad bodies, a visit that is no meeting, a carer and another team are refused."""
    visit = await seed.meeting(demo)
    medication = await seed.meeting(demo, code="medication")
    await login(client, "anna")
    path = f"/api/visits/{visit}/invites"
    cases: list[tuple[str, object, int, str]] = [
        (path, {"kind": "guest"}, 422, "name_required"),
        (path, {"kind": "guest", "name": "X", "email": "nope"}, 422, "invalid_email"),
        (path, {"kind": "relative", "relative_id": 999999}, 422, "unknown_relative"),
        (path, {"kind": "friend"}, 400, "invalid_input"),
        (f"/api/visits/{medication}/invites", {"kind": "guest", "name": "X"}, 422, "not_a_meeting"),
    ]
    for where, body, want_status, want_code in cases:
        status, answer = await post(client, where, body)
        assert (status, answer["error"]["code"]) == (want_status, want_code), body
    await client.post("/logout", headers=await csrf(client))
    await login(client, "carla")  # a carer of the team: sees Karen, does not host meetings
    status, answer = await post(client, path, {"kind": "guest", "name": "X"})
    assert (status, answer["error"]["code"]) == (403, "not_host")
    await client.post("/logout", headers=await csrf(client))
    await login(client, "bo")  # Team Syd: does not see Karen
    status, answer = await post(client, path, {"kind": "guest", "name": "X"})
    assert status == 403
    actions = await seed.audit_actions(demo)
    assert actions.count("invite.create_refused") == 5  # 400s are refused before any checks


async def test_relative_without_consent_is_refused_and_audited(
    client: Client, demo: Settings
) -> None:
    """No relative_join consent for that relative: 403 consent_missing and an audit event."""
    visit = await seed.meeting(demo)
    relative = await seed.relative_of(demo)
    await seed.withdraw_join_consent(demo, relative)
    await login(client, "vera")
    status, answer = await post(
        client, f"/api/visits/{visit}/invites", {"kind": "relative", "relative_id": relative}
    )
    assert (status, answer["error"]["code"]) == (403, "consent_missing")
    assert await seed.audit_actions(demo) == ["invite.create_refused"]


async def test_host_revokes_an_invite_once(client: Client, demo: Settings) -> None:
    """Revoking marks it revoked and is audited; a second revoke is 409 already_revoked."""
    visit = await seed.meeting(demo, starts_in=dt.timedelta(minutes=-5))
    await login(client, "anna")
    status, made = await post(
        client, f"/api/visits/{visit}/invites", {"kind": "guest", "name": "Tolk"}
    )
    assert made["invite"]["state"] == "open"
    invite_id = made["invite"]["id"]
    headers = await csrf(client)
    response = await client.delete(f"/api/invites/{invite_id}", headers=headers)
    assert response.status == 200
    assert (await response.json())["state"] == "revoked"
    again = await client.delete(f"/api/invites/{invite_id}", headers=headers)
    assert (again.status, (await again.json())["error"]["code"]) == (409, "already_revoked")
    assert await seed.audit_actions(demo) == ["invite.create", "invite.revoke"]
