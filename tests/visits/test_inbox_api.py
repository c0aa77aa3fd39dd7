"""The team inbox over JSON and live: stored, shared, taken, closed, escalated once, audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.app import create_app
from server.demo import demo_kiosk_token
from server.models import InboxItem, Organisation, utcnow
from server.scheduling.jobs import scheduler_for
from server.settings import Settings
from tests.conftest import Client, ClientFactory, login
from tests.databases import transaction
from tests.signaling.wsclient import staff_socket

KAREN = 1  # Team Nord: anna and carla are its care staff, pia its planner; bo is Team Syd


@pytest.fixture
async def app(demo: Settings) -> web.Application:
    """The application under test, with the demo data."""
    return create_app(demo)


@pytest.fixture
async def server(aiohttp_server, app: web.Application) -> TestServer:  # type: ignore[no-untyped-def]
    """The real server on a loopback port."""
    test_server: TestServer = await aiohttp_server(app)
    return test_server


async def staff(aiohttp_client: ClientFactory, server: TestServer, username: str) -> Client:
    """A logged-in client of its own (own cookies), as another browser would be."""
    client: Client = await aiohttp_client(server)
    assert await login(client, username) == 303
    return client


async def post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON with the session's CSRF token."""
    me = await (await client.get("/api/me")).json()
    response = await client.post(path, json=body, headers={"X-CSRF-Token": me["csrf_token"]})
    return response.status, await response.json()


async def get(client: Client, path: str) -> dict[str, Any]:
    """GET JSON, which must succeed."""
    response = await client.get(path)
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def ring_til_mig(client: Client, demo: Settings) -> int:
    """Karen presses "Ring til mig" on her tablet; the item's id."""
    headers = {"Authorization": f"Bearer {demo_kiosk_token(demo, 0)}"}
    pressed = await client.post("/api/kiosk/call-back", json={}, headers=headers)
    assert pressed.status == 201
    return int((await pressed.json())["alert_id"])


async def test_inbox_request_is_stored_and_shared(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """A request pressed while nobody watched is in the inbox of every nurse of the team."""
    anna = await staff(aiohttp_client, server, "anna")
    item_id = await ring_til_mig(anna, demo)
    carla = await staff(aiohttp_client, server, "carla")  # logs in later
    items = (await get(carla, "/api/inbox"))["items"]
    found = [i for i in items if i["id"] == item_id]
    assert found and found[0]["kind"] == "call_back_request" and found[0]["state"] == "open"
    assert found[0]["citizen_name"] == "Karen Sørensen" and found[0]["team_name"] == "Team Nord"
    assert (await get(carla, "/api/inbox/summary"))["active"] >= 1
    page = await (await carla.get("/")).text()
    assert "Karen beder om et opkald" in page
    bo = await staff(aiohttp_client, server, "bo")  # Team Syd
    assert item_id not in [i["id"] for i in (await get(bo, "/api/inbox"))["items"]]
    status, body = await post(bo, f"/api/inbox/{item_id}/take", {})
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_inbox_take_release_done_with_history(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Taking shows who has it; a colleague cannot take it too; done keeps the note; audited."""
    anna = await staff(aiohttp_client, server, "anna")
    carla = await staff(aiohttp_client, server, "carla")
    watcher = await staff_socket(await staff(aiohttp_client, server, "pia"), "pia")
    item_id = await ring_til_mig(anna, demo)
    assert (await watcher.expect("alert"))["alert_id"] == str(item_id)
    status, taken = await post(anna, f"/api/inbox/{item_id}/take", {})
    assert status == 200 and taken["state"] == "taken" and taken["taken_by_name"] == "Anna Jensen"
    changed = await watcher.expect("inbox-changed")
    assert changed == {**changed, "item_id": str(item_id), "state": "taken"}
    status, body = await post(carla, f"/api/inbox/{item_id}/take", {})
    assert (status, body["error"]["code"]) == (409, "inbox_item_taken")
    assert (await post(anna, f"/api/inbox/{item_id}/take", {}))[0] == 200  # a second press
    status, released = await post(anna, f"/api/inbox/{item_id}/release", {})
    assert status == 200 and released["state"] == "open" and released["taken_by_name"] is None
    status, done = await post(carla, f"/api/inbox/{item_id}/done", {"note": "Ringet op, alt ok"})
    assert status == 200 and done["state"] == "done" and done["closed_by_name"] == "Carla Hansen"
    assert done["note"] == "Ringet op, alt ok"
    status, body = await post(anna, f"/api/inbox/{item_id}/dismiss", {"note": "x"})
    assert (status, body["error"]["code"]) == (409, "inbox_item_closed")
    active = [i["id"] for i in (await get(anna, "/api/inbox"))["items"]]
    everything = [i["id"] for i in (await get(anna, "/api/inbox?all=1"))["items"]]
    assert item_id not in active and item_id in everything
    history = await get(anna, f"/api/inbox/{item_id}")
    actions = [(line["actor"], line["action"]) for line in history["history"]]
    assert actions == [
        ("staff:anna", "inbox.take"),
        ("staff:anna", "inbox.release"),
        ("staff:carla", "inbox.done"),
    ]


async def test_inbox_dismiss_needs_a_reason(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Dismissing without a reason is refused and changes nothing; with one it is kept."""
    anna = await staff(aiohttp_client, server, "anna")
    item_id = await ring_til_mig(anna, demo)
    status, body = await post(anna, f"/api/inbox/{item_id}/dismiss", {"note": "   "})
    assert (status, body["error"]["code"]) == (400, "reason_required")
    assert (await get(anna, f"/api/inbox/{item_id}"))["item"]["state"] == "open"
    status, body = await post(
        anna, f"/api/inbox/{item_id}/dismiss", {"note": "Trykket ved en fejl"}
    )
    assert status == 200 and body["state"] == "dismissed" and body["note"] == "Trykket ved en fejl"
    status, body = await post(anna, f"/api/inbox/{item_id}/done", {"unknown": 1})
    assert (status, body["error"]["code"]) == (400, "invalid_input")


async def overdue_item(demo: Settings, org_settings: dict[str, Any]) -> int:
    """A physical-visit request for Karen that was due an hour ago; its id."""
    async with transaction(demo.database_url) as session:
        org = await session.get_one(Organisation, 1)
        org.settings = {**org.settings, **org_settings}
        item = InboxItem(
            organisation_id=1,
            team_id=1,
            citizen_id=KAREN,
            kind="missed_visit",
            message="Karen: medicin kl. 08:00 blev ikke til noget. Planlæg et fysisk besøg.",
            due_at=utcnow() - dt.timedelta(hours=1),
            created_at=utcnow() - dt.timedelta(hours=3),
        )
        session.add(item)
        await session.flush()
        return item.id


@pytest.mark.parametrize(
    ("rule", "told", "not_told"),
    [
        ({"to": "planners"}, "pia", "bo"),
        ({"to": "on_call", "on_call_staff_ids": [2]}, "bo", "pia"),  # bo, of the other team
    ],
)
async def test_inbox_overdue_item_escalates_once(
    demo: Settings,
    server: TestServer,
    aiohttp_client: ClientFactory,
    app: web.Application,
    rule: dict[str, Any],
    told: str,
    not_told: str,
) -> None:
    """An item past its due time is escalated once, to the organisation's chosen people."""
    item_id = await overdue_item(demo, {"overdue": rule})
    recipient = await staff_socket(await staff(aiohttp_client, server, told), told)
    bystander = await staff_socket(await staff(aiohttp_client, server, not_told), not_told)
    scheduler = scheduler_for(app)
    report = await scheduler.tick(utcnow())
    assert [o.change.item_id for o in report.overdue] == [item_id]
    # The same tick may also alert about the demo day's visits missed by now (it depends on
    # the hour the test runs): this item's alert is the one that matters.
    alert = await recipient.expect("alert")
    while alert["alert_id"] != str(item_id):
        alert = await recipient.expect("alert")
    assert alert["message"].startswith("Overskredet frist")
    assert (await scheduler.tick(utcnow())).overdue == [], "escalated once only"
    async with transaction(demo.database_url) as session:
        item = await session.scalar(select(InboxItem).where(InboxItem.id == item_id))
    assert item is not None and item.escalated_to == rule["to"] and item.state == "open"
    seen = await get(await staff(aiohttp_client, server, told), "/api/inbox")
    assert item_id in [i["id"] for i in seen["items"]], "the recipient sees it in the inbox"
    await bystander.send(type="ping", id=1)  # answered after anything sent before it
    heard = [await bystander.next()]
    while heard[-1]["type"] != "pong":
        heard.append(await bystander.next())
    about_it = [m for m in heard if m["type"] == "alert" and m["alert_id"] == str(item_id)]
    assert about_it == [], "the bystander heard no alert about the overdue item"
