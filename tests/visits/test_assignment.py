"""Assignment over JSON: qualified roles and audited overrides, continuity breaks confirmed,
few new faces respected, and a visit nobody can take raised in the team's inbox (once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from server.app import create_app
from server.models import AuditEvent, InboxItem, Staff, Visit, utcnow
from server.scheduling.generation import generate
from server.settings import Settings
from server.vocabulary import InboxKind, InboxState
from tests.conftest import Client, ClientFactory, login
from tests.console.seed import seed_today
from tests.databases import transaction

KAREN, INGER = 1, 3  # Team Nord (contacts anna, carla); Karen has medication first, Inger wake-up


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Assignment writes: every test runs on SQLite and PostgreSQL."""
    return both_backends


@pytest.fixture
async def server(aiohttp_server, demo: Settings) -> TestServer:  # type: ignore[no-untyped-def]
    """The real server with the demo organisation."""
    test_server: TestServer = await aiohttp_server(create_app(demo))
    return test_server


@pytest.fixture
async def visits(demo: Settings) -> dict[str, int]:
    """Today's first visit of each demo citizen, by preferred name."""
    return await seed_today(demo)


async def staff(aiohttp_client: ClientFactory, server: TestServer, username: str) -> Client:
    """A logged-in client with its own cookies."""
    client: Client = await aiohttp_client(server)
    assert await login(client, username) == 303
    return client


async def post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON with the session's CSRF token."""
    me = await (await client.get("/api/me")).json()
    response = await client.post(path, json=body, headers={"X-CSRF-Token": me["csrf_token"]})
    return response.status, await response.json()


async def staff_id(db_url: str, username: str) -> int:
    """A demo staff member's id."""
    async with transaction(db_url) as session:
        found = await session.scalar(select(Staff.id).where(Staff.username == username))
    assert found is not None
    return found


async def audit_actions(db_url: str, action: str) -> list[dict[str, Any]]:
    """The details of the audit events of one action, oldest first."""
    async with transaction(db_url) as session:
        rows = await session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


async def unassigned_items(db_url: str, visit_id: int | None = None) -> list[InboxItem]:
    """The unassigned-visit items (of one visit, when given)."""
    async with transaction(db_url) as session:
        query = select(InboxItem).where(InboxItem.kind == InboxKind.UNASSIGNED_VISIT)
        if visit_id is not None:
            query = query.where(InboxItem.visit_id == visit_id)
        return list(await session.scalars(query.order_by(InboxItem.id)))


async def test_assign_medication_refuses_unqualified_for_planner_and_carer(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory, visits: dict[str, int]
) -> None:
    """Medication to a carer: refused saying why; planners and carers may not override."""
    carla_id = await staff_id(demo.database_url, "carla")
    path = f"/api/visits/{visits['Karen']}/assign"
    for username in ("pia", "carla"):
        client = await staff(aiohttp_client, server, username)
        status, body = await post(client, path, {"staff_id": carla_id})
        assert (status, body["error"]["code"]) == (409, "not_qualified")
        message = body["error"]["message"]
        assert "sygeplejerske" in message and "tilsidesætte" in message
        status, body = await post(client, path, {"staff_id": carla_id, "override_reason": "Syg"})
        assert (status, body["error"]["code"]) == (403, "override_not_allowed")
    async with transaction(demo.database_url) as session:
        visit = await session.get_one(Visit, visits["Karen"])
        assert visit.assigned_staff_id is None


async def test_assign_override_by_nurse_needs_a_reason_and_is_audited(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory, visits: dict[str, int]
) -> None:
    """A nurse gives medication to a carer only with a reason; the override is audited."""
    carla_id = await staff_id(demo.database_url, "carla")
    anna = await staff(aiohttp_client, server, "anna")
    path = f"/api/visits/{visits['Karen']}/assign"
    status, body = await post(anna, path, {"staff_id": carla_id, "override_reason": "  "})
    assert (status, body["error"]["code"]) == (409, "not_qualified")
    reason = "Carla er oplært i netop Karens dosisæske"
    status, body = await post(anna, path, {"staff_id": carla_id, "override_reason": reason})
    assert status == 200, body
    assert body == {
        "visit_id": visits["Karen"],
        "assigned_staff_id": carla_id,
        "continuity_break": False,
        "override": True,
    }
    overrides = await audit_actions(demo.database_url, "visit.assign_override")
    assert [(o["to"], o["reason"], o["visit_type"]) for o in overrides] == [
        (carla_id, reason, "medication")
    ]


async def test_assign_outside_team_asks_for_confirmation_and_counts_a_break(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory, visits: dict[str, int]
) -> None:
    """A Team Syd nurse for Karen: 409 naming Team Nord; confirmed, a stored, audited break."""
    bo_id, anna_id = (
        await staff_id(demo.database_url, "bo"),
        await staff_id(demo.database_url, "anna"),
    )
    vera = await staff(aiohttp_client, server, "vera")  # visitators may assign
    path = f"/api/visits/{visits['Karen']}/assign"
    status, body = await post(vera, path, {"staff_id": bo_id})
    assert (status, body["error"]["code"]) == (409, "continuity_confirm")
    assert "Team Nord" in body["error"]["message"]
    assert body["error"]["details"] == {"team": "Team Nord", "staff": "Bo Nielsen"}
    status, body = await post(vera, path, {"staff_id": bo_id, "confirm_outside": True})
    assert status == 200 and body["continuity_break"] is True
    async with transaction(demo.database_url) as session:
        visit = await session.get_one(Visit, visits["Karen"])
        assert visit.continuity_break is True
    figures = await (await vera.get(f"/api/figures?team_id={visit.team_id}&weeks=1")).json()
    week = figures["teams"][0]["weeks"][-1]
    assert week["continuity_breaks"] == 1 and 0 < week["continuity_break_share"] <= 1
    status, body = await post(vera, path, {"staff_id": anna_id})
    assert status == 200 and body["continuity_break"] is False
    events = await audit_actions(demo.database_url, "visit.assign")
    assert [(e["to"], e["continuity_break"]) for e in events] == [(bo_id, True), (anna_id, False)]


async def test_few_new_faces_flag_is_audited_and_needs_the_right_role(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Nurses, planners and visitators set the flag (audited); a carer may not."""
    path = f"/api/citizens/{INGER}/few-new-faces"
    carla = await staff(aiohttp_client, server, "carla")
    status, body = await post(carla, path, {"few_new_faces": True})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    pia = await staff(aiohttp_client, server, "pia")
    status, body = await post(pia, path, {"few_new_faces": True})
    assert status == 200 and body == {"citizen_id": INGER, "few_new_faces": True, "changed": True}
    status, body = await post(pia, path, {"few_new_faces": True})
    assert body["changed"] is False
    assert await audit_actions(demo.database_url, "citizen.few_new_faces") == [
        {"few_new_faces": True}
    ]


async def test_few_new_faces_confirms_new_face_and_automatic_keeps_to_familiar(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory, visits: dict[str, int]
) -> None:
    """A new face needs new_face_confirm; automatic choice never picks one: an inbox item."""
    pia_id = await staff_id(demo.database_url, "pia")
    anna_id = await staff_id(demo.database_url, "anna")
    carla_id = await staff_id(demo.database_url, "carla")
    pia = await staff(aiohttp_client, server, "pia")
    assert (await post(pia, f"/api/citizens/{INGER}/few-new-faces", {"few_new_faces": True}))[0]
    path = f"/api/visits/{visits['Inger']}/assign"
    status, body = await post(pia, path, {"staff_id": pia_id})  # Team Nord, but never visited
    assert (status, body["error"]["code"]) == (409, "new_face_confirm")
    status, body = await post(pia, path, {"staff_id": pia_id, "confirm_new_face": True})
    assert status == 200 and body["assigned_staff_id"] == pia_id
    for _ in range(2):  # pressing twice must not give two items
        status, body = await post(pia, path, {"exclude": [anna_id, carla_id]})
        assert status == 200 and body["assigned_staff_id"] is None
    items = await unassigned_items(demo.database_url, visits["Inger"])
    assert [(i.state, i.team_id) for i in items] == [(InboxState.OPEN, items[0].team_id)]
    assert "Inger" in items[0].message and "ingen medarbejder" in items[0].message
    status, body = await post(pia, path, {})  # automatic: Anna, the first contact person
    assert status == 200 and body["assigned_staff_id"] == anna_id
    closed = await unassigned_items(demo.database_url, visits["Inger"])
    assert [i.state for i in closed] == [InboxState.DONE] and "Anna Jensen" in (
        closed[0].note or ""
    )


async def test_no_qualified_staff_is_refused_unless_a_nurse_or_visitator_overrides(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory, visits: dict[str, int]
) -> None:
    """No free nurse for a dose: refused; a visitator leaves it unassigned with a reason."""
    anna_id = await staff_id(demo.database_url, "anna")
    path = f"/api/visits/{visits['Karen']}/assign"
    pia = await staff(aiohttp_client, server, "pia")
    status, body = await post(pia, path, {"exclude": [anna_id]})
    assert (status, body["error"]["code"]) == (409, "no_qualified_staff")
    status, body = await post(pia, path, {"unassign": True})
    assert (status, body["error"]["code"]) == (409, "no_qualified_staff")
    assert await unassigned_items(demo.database_url) == []
    vera = await staff(aiohttp_client, server, "vera")
    reason = "Anna er syg; planlæggeren finder en afløser"
    status, body = await post(vera, path, {"exclude": [anna_id], "override_reason": reason})
    assert status == 200 and body["assigned_staff_id"] is None and body["override"] is True
    assert len(await unassigned_items(demo.database_url, visits["Karen"])) == 1
    overrides = await audit_actions(demo.database_url, "visit.assign_override")
    assert [(o["to"], o["reason"]) for o in overrides] == [(None, reason)]


async def test_generation_raises_one_item_per_visit_nobody_can_take(demo: Settings) -> None:
    """With Team Nord's only nurse gone, each new medication visit gets one inbox item."""
    now = utcnow() + dt.timedelta(days=20)  # past the demo's own horizon: visits are new
    async with transaction(demo.database_url) as session:
        await session.execute(update(Staff).where(Staff.username == "anna").values(active=False))
    async with transaction(demo.database_url) as session:
        await generate(session, now, zone=demo.zone, horizon_days=2)
    async with transaction(demo.database_url) as session:
        await generate(session, now + dt.timedelta(minutes=1), zone=demo.zone, horizon_days=2)
    async with transaction(demo.database_url) as session:
        nobody = set(
            await session.scalars(
                select(Visit.id).where(
                    Visit.assigned_staff_id.is_(None), Visit.plan_id.is_not(None)
                )
            )
        )
    items = await unassigned_items(demo.database_url)
    assert nobody and sorted(i.visit_id for i in items if i.visit_id) == sorted(nobody)
    assert all(i.state == InboxState.OPEN for i in items)
