"""The consent register's JSON API on SQLite and PostgreSQL: record, replace, withdraw, history;
relatives and their permissions; who may do what; validation codes; audit events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.models import AuditEvent, Consent, Organisation
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.databases import transaction
from tests.scheduling.world import make_world

KAREN = 1  # demo citizen 1: Team Nord (anna nurse, carla carer; both her contact persons)
POUL = 2  # demo citizen 2: Team Syd (bo, dennis)
CITIZEN = {"kind": "citizen"}
AUTO = {
    "kind": "auto_answer",
    "given_by": CITIZEN,
    "scope": {
        "windows": [{"start": "07:00", "end": "10:00", "weekdays": [0, 1, 2, 3, 4]}],
        "callers": ["contact_persons"],
    },
    "note": "Givet ved opstartsbesøget",
}


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


async def post(client: Client, path: str, body: object) -> tuple[int, dict[str, Any]]:
    """POST JSON with the logged-in client's CSRF header."""
    response = await client.post(path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def register(client: Client, citizen_id: int = KAREN) -> dict[str, Any]:
    """GET the citizen's register."""
    response = await client.get(f"/api/citizens/{citizen_id}/consents")
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def audit_actions(settings: Settings) -> list[str]:
    """Every audited consent and relative action, oldest first (the demo seed audits none)."""
    async with transaction(settings.database_url) as session:
        rows = await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("consent.%") | AuditEvent.action.like("relative.%"))
            .order_by(AuditEvent.id)
        )
        return list(rows)


async def consent_count(settings: Settings) -> int:
    """Consent rows in the database."""
    async with transaction(settings.database_url) as session:
        return len((await session.scalars(select(Consent.id))).all())


async def test_recording_again_replaces_and_keeps_the_chain(client: Client, demo: Settings) -> None:
    """A second auto-answer consent withdraws the first in the same write; both stay in the
    history, the old one marked as replaced by the new, and each write is audited."""
    await login(client, "vera")
    status, first = await post(client, f"/api/citizens/{KAREN}/consents", AUTO)
    assert status == 201, first
    assert first["scope"] == {
        "windows": [{"start": "07:00", "end": "10:00", "weekdays": [0, 1, 2, 3, 4]}],
        "callers": ["contact_persons"],
        "staff_ids": [],
    }
    assert first["recorded_by"] == "Vera Visitator" and first["given_by"] == CITIZEN | {
        "name": None
    }
    second_body = AUTO | {"scope": {"callers": ["contact_persons", "team"]}}
    second_body["given_by"] = {"kind": "guardian", "name": "Hans Værge"}
    status, second = await post(client, f"/api/citizens/{KAREN}/consents", second_body)
    assert status == 201, second
    data = await register(client)
    autos = [c for c in data["history"] if c["kind"] == "auto_answer"]
    assert [c["id"] for c in data["active"] if c["kind"] == "auto_answer"] == [second["id"]]
    old = next(c for c in autos if c["id"] == first["id"])
    assert old["active"] is False and old["withdrawn_at"] is not None
    assert old["withdrawn_by"] == {"kind": "replaced", "name": str(second["id"])}
    assert old["withdrawn_by_staff"] == "Vera Visitator"
    # The demo's own auto-answer consent was replaced by the first, which the second replaced.
    assert len(autos) == 3 and sum(c["active"] for c in autos) == 1
    assert await audit_actions(demo) == ["consent.record", "consent.record"]


async def test_withdraw_says_who_and_cannot_happen_twice(client: Client, demo: Settings) -> None:
    """A withdrawal names who withdrew and the staff member who recorded it; again is 409."""
    await login(client, "anna")
    data = await register(client)
    screen = next(c for c in data["active"] if c["kind"] == "screen_visits")
    body = {"withdrawn_by": {"kind": "relative", "name": "Ida Sørensen"}}
    status, withdrawn = await post(client, f"/api/consents/{screen['id']}/withdraw", body)
    assert status == 200, withdrawn
    assert withdrawn["active"] is False
    assert withdrawn["withdrawn_by"] == {"kind": "relative", "name": "Ida Sørensen"}
    assert withdrawn["withdrawn_by_staff"] == "Anna Jensen"
    status, again = await post(client, f"/api/consents/{screen['id']}/withdraw", body)
    assert (status, again["error"]["code"]) == (409, "consent_already_withdrawn")
    assert await audit_actions(demo) == ["consent.withdraw"]


@pytest.mark.parametrize("username", ["vera", "pia", "admin", "anna"])
async def test_writers_record(client: Client, demo: Settings, username: str) -> None:
    """Visitator, planner, administrator and the team's nurse record consents."""
    await login(client, username)
    status, reply = await post(client, f"/api/citizens/{KAREN}/consents", AUTO)
    assert status == 201, reply
    assert (await register(client))["may_write"] is True


async def test_carer_reads_but_may_not_write(client: Client, demo: Settings) -> None:
    """A carer of the team sees the register; recording, withdrawing and relative changes are
    refused (and audited), nothing is written."""
    await login(client, "carla")
    data = await register(client)
    assert data["may_write"] is False and data["history"] and data["relatives"]
    before = await consent_count(demo)
    status, reply = await post(client, f"/api/citizens/{KAREN}/consents", AUTO)
    assert (status, reply["error"]["code"]) == (403, "consents_write_forbidden")
    consent_id = data["active"][0]["id"]
    body = {"withdrawn_by": CITIZEN}
    status, reply = await post(client, f"/api/consents/{consent_id}/withdraw", body)
    assert (status, reply["error"]["code"]) == (403, "consents_write_forbidden")
    relative_id = data["relatives"][0]["id"]
    status, reply = await post(client, f"/api/relatives/{relative_id}/remove", {})
    assert (status, reply["error"]["code"]) == (403, "consents_write_forbidden")
    assert await consent_count(demo) == before
    assert await audit_actions(demo) == ["consent.write_denied"] * 3


async def test_other_team_and_other_organisation(client: Client, demo: Settings) -> None:
    """A nurse of another team gets 403; a citizen of another organisation does not exist
    (404), even for a visitator."""
    async with transaction(demo.database_url) as session:
        other = await make_world(session, slug="andenkommune")
        foreign = other.citizens[0]
    await login(client, "bo")
    assert (await client.get(f"/api/citizens/{KAREN}/consents")).status == 403
    status, _ = await post(client, f"/api/citizens/{KAREN}/consents", AUTO)
    assert status == 403
    await client.post("/logout", headers=await csrf(client))
    await login(client, "vera")
    assert (await client.get(f"/api/citizens/{foreign}/consents")).status == 404
    assert (await client.get(f"/api/citizens/{foreign}/relatives")).status == 404
    status, reply = await post(client, f"/api/citizens/{foreign}/consents", AUTO)
    assert (status, reply["error"]["code"]) == (404, "not_found")


def _auto(**scope: Any) -> dict[str, Any]:
    return AUTO | {"scope": scope}


BAD = [
    ({**AUTO, "kind": "telepathy"}, 422, "invalid_consent_kind"),
    (_auto(callers=[]), 422, "invalid_scope"),
    (_auto(callers=["neighbours"]), 422, "invalid_scope"),
    (_auto(callers=["team"], windows=[{"start": "08:00", "end": "08:00"}]), 422, "invalid_scope"),
    (
        _auto(callers=["team"], windows=[{"start": "08:00", "end": "09:00", "weekdays": [7]}]),
        422,
        "invalid_scope",
    ),
    (_auto(callers=["team"], windows=[{"start": "25:00", "end": "09:00"}]), 422, "invalid_scope"),
    (_auto(callers=["team"], ring_loudly=True), 422, "invalid_scope"),
    (_auto(staff_ids=[4]), 422, "invalid_scope"),  # staff 4, Dennis: Team Syd, not Karen's
    ({**AUTO, "kind": "screen_visits", "scope": {"callers": ["team"]}}, 422, "invalid_scope"),
    ({"kind": "relative_join", "given_by": CITIZEN}, 422, "relative_required"),
    ({"kind": "relative_join", "given_by": CITIZEN, "relative_id": 2}, 422, "invalid_relative"),
    ({**AUTO, "relative_id": 1}, 422, "relative_not_allowed"),
    ({**AUTO, "given_by": {"kind": "guardian"}}, 422, "given_by_required"),
    ({**AUTO, "given_by": {"kind": "relative", "name": "  "}}, 422, "given_by_required"),
    ({**AUTO, "given_by": {"kind": "the cat"}}, 400, "invalid_input"),
    ({**AUTO, "mood": "glad"}, 400, "invalid_input"),
]


async def test_bad_input_gets_a_stable_code_and_writes_nothing(
    client: Client, demo: Settings
) -> None:
    """Each kind of bad consent is refused with its own code and a message; nothing is written."""
    await login(client, "vera")
    before = await consent_count(demo)
    for body, status, code in BAD:
        got, reply = await post(client, f"/api/citizens/{KAREN}/consents", body)
        assert (got, reply["error"]["code"]) == (status, code), body
        assert reply["error"]["message"]
    assert await consent_count(demo) == before
    assert await audit_actions(demo) == []


async def test_named_staff_of_the_team_may_be_callers(client: Client, demo: Settings) -> None:
    """The register offers the team's staff as named callers, and accepts them."""
    await login(client, "vera")
    callers = (await register(client))["callers"]
    names = {c["name"] for c in callers}
    assert {"Anna Jensen", "Carla Hansen", "Pia Planlægger"} <= names and "Bo Nielsen" not in names
    anna = next(c["id"] for c in callers if c["name"] == "Anna Jensen")
    status, reply = await post(client, f"/api/citizens/{KAREN}/consents", _auto(staff_ids=[anna]))
    assert status == 201 and reply["scope"]["staff_ids"] == [anna]


async def test_suggested_auto_answer_follows_the_organisation(
    client: Client, demo: Settings
) -> None:
    """The form's suggestion is the organisation's auto_answer_default."""
    await login(client, "vera")
    assert (await register(client))["suggested_auto_answer"] is False
    async with transaction(demo.database_url) as session:
        org = await session.get_one(Organisation, 1)
        org.settings = {**(org.settings or {}), "auto_answer_default": True}
    assert (await register(client))["suggested_auto_answer"] is True


async def test_relative_lifecycle(client: Client, demo: Settings) -> None:
    """Add a daughter who may join meetings; edit her; let her be notified, then not; remove
    her: each permission is a consent in the history, and every step is audited."""
    await login(client, "vera")
    body = {
        "name": "Ida Sørensen",
        "relation": "datter",
        "phone": "+45 20 30 40 50",
        "permissions": {"join_meetings": True},
        "given_by": CITIZEN,
    }
    status, ida = await post(client, f"/api/citizens/{KAREN}/relatives", body)
    assert status == 201, ida
    assert ida["permissions"] == {
        "join_meetings": True,
        "call": False,
        "see_agreements": False,
        "be_notified": False,
    }
    edit = {"name": "Ida Sørensen", "relation": "datter", "email": "ida@example.org"}
    status, edited = await post(client, f"/api/relatives/{ida['id']}", edit)
    assert status == 200 and edited["email"] == "ida@example.org" and edited["phone"] is None
    path = f"/api/relatives/{ida['id']}/permissions"
    change = {"permissions": {"be_notified": True}, "given_by": CITIZEN}
    status, notified = await post(client, path, change)
    assert notified["permissions"]["be_notified"] and notified["permissions"]["join_meetings"]
    change = {"permissions": {"be_notified": False}, "given_by": CITIZEN}
    assert (await post(client, path, change))[1]["permissions"]["be_notified"] is False
    status, removed = await post(client, f"/api/relatives/{ida['id']}/remove", {})
    assert status == 200 and removed["removed_at"] is not None
    assert not any(removed["permissions"].values())
    data = await register(client)
    hers = [c for c in data["history"] if c["relative_id"] == ida["id"]]
    assert sorted(c["kind"] for c in hers) == ["notify_relative", "relative_join"]
    assert all(not c["active"] for c in hers)
    join = next(c for c in hers if c["kind"] == "relative_join")
    assert join["withdrawn_by"] == {"kind": "relative_removed", "name": None}
    assert join["relative_name"] == "Ida Sørensen"
    status, reply = await post(client, f"/api/relatives/{ida['id']}", edit)
    assert (status, reply["error"]["code"]) == (409, "relative_removed")
    listing = await (await client.get(f"/api/citizens/{KAREN}/relatives")).json()
    assert listing["relatives"][-1]["id"] == ida["id"]  # removed ones last, kept as history
    assert await audit_actions(demo) == [
        "relative.add",
        "consent.record",
        "relative.edit",
        "consent.record",
        "consent.withdraw",
        "consent.withdraw",
        "relative.remove",
    ]


BAD_RELATIVES = [
    ({"relation": "datter"}, 422, "name_required"),
    ({"name": "Ida"}, 422, "relation_required"),
    ({"name": "Ida", "relation": "datter", "phone": "ring"}, 422, "invalid_phone"),
    ({"name": "Ida", "relation": "datter", "email": "ida"}, 422, "invalid_email"),
    (
        {"name": "Ida", "relation": "datter", "permissions": {"call": True}},
        422,
        "given_by_required",
    ),
    ({"name": "Ida", "relation": "datter", "permissions": {"fly": True}}, 400, "invalid_input"),
]


async def test_bad_relatives_are_refused_whole(client: Client, demo: Settings) -> None:
    """A bad relative is refused with a stable code, and no half relative is left behind."""
    await login(client, "vera")
    before = len((await register(client))["relatives"])
    for body, status, code in BAD_RELATIVES:
        got, reply = await post(client, f"/api/citizens/{KAREN}/relatives", body)
        assert (got, reply["error"]["code"]) == (status, code), body
    assert len((await register(client))["relatives"]) == before
