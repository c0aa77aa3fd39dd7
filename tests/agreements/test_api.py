"""The agreement-sheet JSON API on SQLite and PostgreSQL: write, correct, list, who may do what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.demo import demo_kiosk_token
from server.models import AgreementSheet, AuditEvent
from server.sealing import development_keyring
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf

KAREN = 1  # demo citizen 1: Team Nord (anna, carla); the demo gives her today's sheet
POUL = 2  # demo citizen 2: Team Syd (bo, dennis)


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


def sheet(**changes: Any) -> dict[str, Any]:
    """A valid sheet body, with ``changes`` applied."""
    body: dict[str, Any] = {
        "meeting_date": dt.date.today().isoformat(),
        "participants": ["Poul Andersen", "Poul's datter", "Vera Visitator"],
        "topics": "Bad og tryghed",
        "citizen_says": "Jeg vil klare mig selv så længe jeg kan.",
        "relatives_say": "Datteren er bekymret for fald.",
        "citizen_does": "Du trykker på Svar, når skærmen ringer.",
        "municipality_does": "Vi ringer tirsdag og fredag kl. 10.",
    }
    return body | changes


async def post(client: Client, path: str, body: object) -> tuple[int, dict[str, Any]]:
    """POST JSON with the logged-in client's CSRF header."""
    response = await client.post(path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def audit_actions(settings: Settings) -> list[str]:
    """Every audited agreement action, oldest first."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("agreement.%"))
                .order_by(AuditEvent.id)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def test_nurse_writes_and_lists_a_sheet_with_the_citizens_words_apart(
    client: Client, demo: Settings
) -> None:
    """A team nurse writes a sheet; the citizen's and relatives' words come back separately."""
    await login(client, "bo")
    status, created = await post(client, f"/api/citizens/{POUL}/agreements", sheet())
    assert status == 201, created
    assert created["citizen_says"] == "Jeg vil klare mig selv så længe jeg kan."
    assert created["relatives_say"] == "Datteren er bekymret for fald."
    assert created["contact_phone"] == "70 10 20 40"  # Team Syd's phone by default
    assert created["author_name"] == "Bo Nielsen"
    listing = await (await client.get(f"/api/citizens/{POUL}/agreements")).json()
    assert listing["may_write"] is True
    assert [s["id"] for s in listing["sheets"]] == [created["id"]]
    assert await audit_actions(demo) == ["agreement.create"]


async def test_visitator_corrects_a_sheet_and_the_change_is_audited(
    client: Client, demo: Settings
) -> None:
    """An edit replaces the sheet's content, keeps its author and is audited."""
    await login(client, "vera")
    _, created = await post(client, f"/api/citizens/{POUL}/agreements", sheet())
    body = sheet(municipality_does="Vi ringer tirsdag og fredag kl. 11.", contact_phone="+45 11")
    status, bad = await post(client, f"/api/agreements/{created['id']}/edit", body)
    assert (status, bad["error"]["code"]) == (400, "invalid_phone")
    body["contact_phone"] = "+45 70 10 20 99"
    status, edited = await post(client, f"/api/agreements/{created['id']}/edit", body)
    assert status == 200, edited
    assert edited["municipality_does"] == "Vi ringer tirsdag og fredag kl. 11."
    assert edited["contact_phone"] == "+45 70 10 20 99"
    assert edited["author_name"] == "Vera Visitator" and edited["id"] == created["id"]
    assert await audit_actions(demo) == ["agreement.create", "agreement.update"]


async def test_demo_karen_has_todays_sheet(client: Client, demo: Settings) -> None:
    """The demo seeds today's sheet for Karen, with Team Nord's phone."""
    await login(client, "anna")
    listing = await (await client.get(f"/api/citizens/{KAREN}/agreements")).json()
    (first,) = listing["sheets"]
    assert first["contact_phone"] == "70 10 20 30"
    assert first["citizen_does"] and first["municipality_does"]


@pytest.mark.parametrize("username", ["bo", "dennis"])
async def test_staff_of_another_team_may_neither_read_nor_write(
    client: Client, demo: Settings, username: str
) -> None:
    """Team Syd's nurse and carer get 403 on Karen's sheets (Team Nord), and nothing is written."""
    await login(client, username)
    assert (await client.get(f"/api/citizens/{KAREN}/agreements")).status == 403
    status, reply = await post(client, f"/api/citizens/{KAREN}/agreements", sheet())
    assert (status, reply["error"]["code"]) == (403, "forbidden")
    assert await audit_actions(demo) == []


async def test_carer_of_the_team_reads_but_may_not_write(client: Client, demo: Settings) -> None:
    """A carer of Karen's team sees her sheets but may not write them; the refusals are audited."""
    await login(client, "carla")
    listing = await (await client.get(f"/api/citizens/{KAREN}/agreements")).json()
    assert listing["may_write"] is False and len(listing["sheets"]) == 1
    status, reply = await post(client, f"/api/citizens/{KAREN}/agreements", sheet())
    assert (status, reply["error"]["code"]) == (403, "agreements_write_forbidden")
    sheet_id = listing["sheets"][0]["id"]
    status, reply = await post(client, f"/api/agreements/{sheet_id}/edit", sheet())
    assert (status, reply["error"]["code"]) == (403, "agreements_write_forbidden")
    assert await audit_actions(demo) == ["agreement.write_denied"] * 2


BAD_INPUT = [
    (sheet(citizen_does=None, municipality_does="  "), 400, "agreements_empty"),
    (sheet(contact_phone="ring til Bo"), 400, "invalid_phone"),
    (sheet(meeting_date="2001-01-01"), 400, "invalid_meeting_date"),
    (sheet(meeting_date="i går"), 400, "invalid_input"),
    (sheet(participants=[]), 400, "invalid_input"),
    (sheet(participants=["  "]), 400, "invalid_input"),
    (sheet(citizen_says="x" * 2001), 400, "invalid_input"),
    (sheet(mood="glad"), 400, "invalid_input"),
    (sheet(visit_id=999_999), 400, "invalid_visit"),
]


async def test_bad_input_gets_a_clear_code_and_writes_nothing(
    client: Client, demo: Settings
) -> None:
    """Each kind of bad sheet is refused with its own stable code; no row is half-written."""
    await login(client, "anna")
    for body, status, code in BAD_INPUT:
        got_status, reply = await post(client, f"/api/citizens/{KAREN}/agreements", body)
        assert (got_status, reply["error"]["code"]) == (status, code), body
    response = await client.post(
        f"/api/citizens/{KAREN}/agreements", data="not json", headers=await csrf(client)
    )
    assert response.status == 415
    assert (await post(client, "/api/agreements/999999/edit", sheet()))[0] == 404
    assert (await post(client, "/api/citizens/999999/agreements", sheet()))[0] == 404
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            count = len((await session.scalars(select(AgreementSheet.id))).all())
    finally:
        await engine.dispose()
    assert count == 1  # only the demo's sheet


async def test_tablet_idle_json_carries_the_recent_sheet(client: Client, demo: Settings) -> None:
    """Karen's tablet has today's sheet; a sheet from a week ago still shows (marked as not
    today); one from last month no longer does."""
    karen = await client.get(
        "/api/kiosk/me", headers={"Authorization": f"Bearer {demo_kiosk_token(demo, 0)}"}
    )
    agreements = (await karen.json())["agreements"]
    assert agreements["phone"] == "70 10 20 30" and agreements["is_today"] is True
    assert agreements["citizen_does"].startswith("Du tager selv din medicin")
    await login(client, "bo")
    poul_token = {"Authorization": f"Bearer {demo_kiosk_token(demo, 1)}"}
    old = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    assert (await post(client, f"/api/citizens/{POUL}/agreements", sheet(meeting_date=old)))[
        0
    ] == 201
    assert (await (await client.get("/api/kiosk/me", headers=poul_token)).json())[
        "agreements"
    ] is None
    last_week = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    assert (await post(client, f"/api/citizens/{POUL}/agreements", sheet(meeting_date=last_week)))[
        0
    ] == 201
    recent = (await (await client.get("/api/kiosk/me", headers=poul_token)).json())["agreements"]
    assert recent["meeting_date"] == last_week and recent["is_today"] is False
