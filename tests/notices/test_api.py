"""The notice API on SQLite and PostgreSQL: the nurse's delay, the tablet's notices and its
"shown" report, the day list's "Borgeren har fået besked", validation and scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.app import create_app
from server.demo import demo_kiosk_token
from server.models import AuditEvent, Channel, Citizen, Staff, Visit, VisitType, utcnow
from server.models.notices import CitizenNotice, SmsRecipient
from server.settings import Settings
from server.vocabulary import VisitStatus
from tests.conftest import Client, ClientFactory, login
from tests.databases import transaction

KAREN, OTHER_TEAM = 1, 2  # Karen: Team Nord (anna's), tablet 0; citizen 2: Team Syd


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


@pytest.fixture
async def server(aiohttp_server, demo: Settings) -> TestServer:  # type: ignore[no-untyped-def]
    """The real server with the demo organisation."""
    test_server: TestServer = await aiohttp_server(create_app(demo))
    return test_server


async def add_visit(db_url: str, citizen_id: int, status: VisitStatus = VisitStatus.PLANNED) -> int:
    """A screen visit (medication) in ten minutes, assigned to Anna."""
    async with transaction(db_url) as session:
        vtype = await session.scalar(select(VisitType).where(VisitType.code == "medication"))
        anna = await session.scalar(select(Staff).where(Staff.username == "anna"))
        citizen = await session.get_one(Citizen, citizen_id)
        assert vtype is not None and anna is not None
        visit = Visit(
            citizen_id=citizen_id,
            visit_type_id=vtype.id,
            team_id=citizen.team_id,
            assigned_staff_id=anna.id,
            planned_at=utcnow() + dt.timedelta(minutes=10),
            channel=Channel.SCREEN,
            status=status,
        )
        session.add(visit)
        await session.flush()
        return visit.id


async def post(client: Client, path: str, body: object, **headers: str) -> tuple[int, Any]:
    """POST JSON (with the session's CSRF token when logged in)."""
    if "Authorization" not in headers:
        me = await (await client.get("/api/me")).json()
        headers["X-CSRF-Token"] = me["csrf_token"]
    response = await client.post(path, json=body, headers=headers)
    return response.status, await response.json()


async def test_api_delay_reaches_the_tablet_and_comes_back_as_shown(
    aiohttp_client: ClientFactory, server: TestServer, demo: Settings, db_url: str
) -> None:
    """Anna's "forsinket ca. 10 min" is on Karen's tablet at once; "shown" reaches the day list."""
    visit_id = await add_visit(db_url, KAREN)
    anna: Client = await aiohttp_client(server)
    assert await login(anna, "anna") == 303
    status, delay = await post(anna, f"/api/visits/{visit_id}/delay", {"minutes": 10})
    assert status == 201, delay
    assert delay["channel"] == "tablet"
    assert delay["text"].startswith("Sygeplejerske Anna er forsinket ca. 10 minutter og ringer kl.")

    tablet: Client = await aiohttp_client(server)
    bearer = {"Authorization": f"Bearer {demo_kiosk_token(demo, 0)}"}
    home = await (await tablet.get("/api/kiosk/me", headers=bearer)).json()
    top = home["notices"][0]
    assert (top["notice_id"], top["kind"], top["text_da"]) == (
        delay["notice_id"],
        "late",
        delay["text"],
    )
    assert (top["staff_name"], top["shown_at"], home["poll_s"]) == ("Anna", None, 30.0)
    states = await (await anna.get(f"/api/notices/delays?visit_id={visit_id}")).json()
    assert states["delays"][0]["told_at"] is None

    path = f"/api/kiosk/notices/{delay['notice_id']}/shown"
    status, shown = await post(tablet, path, {}, **bearer)
    assert status == 200 and shown["shown_at"] is not None
    assert (await post(tablet, path, {}, **bearer))[1]["shown_at"] == shown["shown_at"]
    states = await (await anna.get(f"/api/notices/delays?visit_id={visit_id}")).json()
    (state,) = states["delays"]
    assert state["told_at"] == shown["shown_at"] and len(state["told_at_local"]) == 5
    async with transaction(db_url) as session:
        audited = await session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "visit.delay")
        )
    assert audited == {"minutes": 10, "notice_id": delay["notice_id"]}
    log = await (await anna.get(f"/api/citizens/{KAREN}/notices")).json()
    logged = log["notices"][0]
    assert (logged["kind"], logged["channel"], logged["text"]) == ("late", "tablet", delay["text"])
    assert logged["shown_at"] == shown["shown_at"] and logged["sent_at"] is None
    assert (await anna.get(f"/api/citizens/{OTHER_TEAM}/notices")).status == 404


async def test_api_delay_refuses_bad_input_other_teams_and_visits_under_way(
    aiohttp_client: ClientFactory, server: TestServer, demo: Settings, db_url: str
) -> None:
    """Minutes 5–120, only visits the nurse may see, only visits not yet under way or over."""
    mine, theirs = await add_visit(db_url, KAREN), await add_visit(db_url, OTHER_TEAM)
    done = await add_visit(db_url, KAREN, VisitStatus.DONE)
    anna: Client = await aiohttp_client(server)
    assert await login(anna, "anna") == 303
    status, body = await post(anna, f"/api/visits/{mine}/delay", {"minutes": 3})
    assert (status, body["error"]["code"]) == (400, "invalid_input")
    status, body = await post(anna, f"/api/visits/{theirs}/delay", {"minutes": 10})
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await post(anna, f"/api/visits/{done}/delay", {"minutes": 10})
    assert (status, body["error"]["code"]) == (409, "visit_not_open")
    response = await anna.get("/api/notices/delays?visit_id=1,x")
    assert response.status == 400

    # A tablet cannot mark another citizen's notice shown.
    status, delay = await post(anna, f"/api/visits/{mine}/delay", {"minutes": 20})
    other: Client = await aiohttp_client(server)
    bearer = {"Authorization": f"Bearer {demo_kiosk_token(demo, 1)}"}
    path = f"/api/kiosk/notices/{delay['notice_id']}/shown"
    status, body = await post(other, path, {}, **bearer)
    assert (status, body["error"]["code"]) == (404, "not_found")
    async with transaction(db_url) as session:
        notice = await session.get_one(CitizenNotice, delay["notice_id"])
    assert notice.shown_at is None


async def test_api_sms_number_set_and_cleared_by_a_visitator(
    aiohttp_client: ClientFactory, server: TestServer, db_url: str
) -> None:
    """Vera sets Karen's SMS number (audited masked), then clears it; a nurse may not."""
    vera: Client = await aiohttp_client(server)
    assert await login(vera, "vera") == 303
    path = f"/api/citizens/{KAREN}/sms-number"
    status, body = await post(vera, path, {"phone": "+45 12 34 56 78"})
    assert (status, body) == (200, {"citizen_id": KAREN, "phone_masked": "********78"})
    async with transaction(db_url) as session:
        assert (await session.get_one(SmsRecipient, KAREN)).phone == "+45 12 34 56 78"
        detail = await session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "citizen.sms_number")
        )
    assert detail == {"phone": "********78"}
    assert (await post(vera, path, {"phone": "ring mig"}))[0] == 400
    assert (await post(vera, path, {"phone": None}))[1]["phone_masked"] is None
    async with transaction(db_url) as session:
        assert await session.get(SmsRecipient, KAREN) is None
    anna: Client = await aiohttp_client(server)
    assert await login(anna, "anna") == 303
    assert (await post(anna, path, {"phone": "+45 12 34 56 78"}))[0] == 403
