"""The plan editor's API on SQLite and PostgreSQL: words, preview, history, reasons, contacts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.models import AuditEvent, CitizenPause, ContactPerson, Staff, VisitPlan
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction
from tests.scheduling.test_plans_api import _ids, _post
from tests.zone import today


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and PostgreSQL."""
    return both_backends


def _words(citizen: int, team: int, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "citizen_id": citizen, "visit_type": "reassurance", "team_id": team,
        "schedule": {"days": "chosen", "weekdays": ["mon", "wed", "fri"]},
        "local_time": "10:00", "window_min": 15, "valid_from": "2027-03-01",
    }  # fmt: skip
    return body | fields


async def _count(db_url: str, model: type[VisitPlan] | type[CitizenPause]) -> int:
    async with transaction(db_url) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_preview_shows_four_weeks_with_clock_notes_and_writes_nothing(
    client: Client, demo: Settings
) -> None:
    """02:30 on Mon/Wed/Fri every second week: 28 days, the spring gap noted on its day."""
    citizen, team = await _ids(demo.database_url)
    before = await _count(demo.database_url, VisitPlan)
    assert await login(client, "vera") == 303
    schedule = {"days": "chosen", "weekdays": ["sun"], "every_weeks": 1}
    body = _words(citizen, team, local_time="02:30", schedule=schedule, valid_from="2027-03-14")
    status, preview = await _post(client, "/api/plans/preview", body)
    assert status == 200, preview
    assert (preview["rrule"], preview["rrule_text"]) == ("FREQ=WEEKLY;BYDAY=SU", "Søndag")
    assert (preview["start"], preview["end"]) == ("2027-03-14", "2027-04-10")
    assert [v["date"] for v in preview["visits"]] == [
        "2027-03-14", "2027-03-21", "2027-03-28", "2027-04-04",
    ]  # fmt: skip
    spring = preview["visits"][2]
    assert spring["time"] == "03:30:00" and "02:30 findes ikke den 28.03.2027" in spring["note"]
    assert {p["code"] for p in preview["problems"]} >= {"nonexistent_local_time"}
    status, error = await _post(
        client, "/api/plans/preview", _words(citizen, team, schedule={"days": "chosen"})
    )
    assert (status, error["error"]["code"]) == (422, "schedule_invalid")
    assert await _count(demo.database_url, VisitPlan) == before


async def test_preview_of_today_marks_the_citizens_pauses(client: Client, demo: Settings) -> None:
    """A preview starts today at the earliest and lists the days a pause covers."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "pia") == 303
    first = today() + dt.timedelta(days=3)
    pause = {"citizen_id": citizen, "start": str(first), "end": str(first), "reason": "Sygehus"}
    assert (await _post(client, "/api/pauses", pause))[0] == 201
    body = _words(citizen, team, schedule={"days": "every_day"}, valid_from="2020-01-01")
    status, preview = await _post(client, "/api/plans/preview", body)
    assert status == 200, preview
    assert preview["start"] == today().isoformat() and preview["paused_days"] == [str(first)]
    assert len(preview["visits"]) == 27 and str(first) not in {v["date"] for v in preview["visits"]}


async def test_history_tells_who_changed_what_and_why_newest_first(
    client: Client, demo: Settings
) -> None:
    """Create, edit, a one-off move and a pause each appear with old → new and the reason."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "vera") == 303
    body = _words(citizen, team, valid_from=str(today() + dt.timedelta(days=1)), reason="Ny")
    status, saved = await _post(client, "/api/plans", body)
    assert status == 201, saved
    plan = saved["plan"]
    assert (plan["rrule"], plan["rrule_text"]) == (
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "Mandag, onsdag og fredag",
    )
    assert plan["schedule"] == {
        "days": "chosen",
        "weekdays": ["mon", "wed", "fri"],
        "every_weeks": 1,
    }
    path = f"/api/plans/{plan['id']}"
    edit = {"local_time": "10:30", "schedule": {"days": "weekdays"}, "reason": "Passer bedre"}
    assert (await _post(client, path, edit))[0] == 200
    monday = today() + dt.timedelta(days=7 - today().weekday())
    move = {
        "date": str(monday), "kind": "move", "move_to_date": str(monday),
        "move_to_time": "13:00", "reason": "Lægebesøg",
    }  # fmt: skip
    assert (await _post(client, f"{path}/changes", move))[0] == 200
    pause = {"citizen_id": citizen, "start": str(monday), "end": str(monday), "reason": "Indlagt"}
    assert (await _post(client, "/api/pauses", pause))[0] == 201
    history = await (await client.get(f"{path}/history")).json()
    entries = history["entries"]
    assert [e["action"] for e in entries] == [
        "citizen.pause", "plan.change", "plan.edit", "plan.create",
    ]  # fmt: skip
    assert {e["actor"] for e in entries} == {"Vera Visitator"}
    assert [e["reason"] for e in entries] == ["Indlagt", "Lægebesøg", "Passer bedre", "Ny"]
    assert entries[0]["changes"] == {"pause": [None, {"start": str(monday), "end": str(monday)}]}
    assert entries[1]["changes"][str(monday)][1]["move_to"] == f"{monday} 13:00"
    assert entries[2]["changes"]["local_time"] == ["10:00", "10:30"]
    assert entries[2]["changes"]["days"] == [
        "Mandag, onsdag og fredag",
        "Mandag, tirsdag, onsdag, torsdag og fredag",
    ]
    assert entries[3]["changes"]["visit_type"] == [None, "reassurance"]
    assert (await client.get("/api/plans/999999/history")).status == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/pauses", {"start": "2027-01-01", "end": "2027-01-02", "reason": "  "}),
        ("/api/pauses", {"start": "2027-01-01", "end": "2027-01-02"}),
    ],
)
async def test_pause_without_a_reason_is_refused(
    client: Client, demo: Settings, path: str, body: dict[str, object]
) -> None:
    """A blank or missing reason is a 400 naming the field; nothing is written."""
    citizen, _ = await _ids(demo.database_url)
    before = await _count(demo.database_url, CitizenPause)
    assert await login(client, "pia") == 303
    status, error = await _post(client, path, {"citizen_id": citizen} | body)
    assert status == 400 and error["error"]["details"][0]["loc"] == ["reason"], error
    assert await _count(demo.database_url, CitizenPause) == before


async def test_planner_sets_contact_persons_of_the_citizens_team(
    client: Client, demo: Settings
) -> None:
    """1–3 active staff of the citizen's team, audited old → new; others and nurses are refused."""
    citizen, _ = await _ids(demo.database_url)
    async with transaction(demo.database_url) as session:
        ids = {s.username: s.id for s in await session.scalars(select(Staff))}
    path = f"/api/citizens/{citizen}/contact-persons"
    assert await login(client, "pia") == 303
    status, saved = await _post(client, path, {"staff_ids": [ids["carla"], ids["anna"]]})
    assert status == 200, saved
    assert [p["display_name"] for p in saved["contact_persons"]] == ["Carla Hansen", "Anna Jensen"]
    for wrong in ([ids["bo"]], [ids["anna"], ids["anna"]], [], [ids["anna"]] * 4):
        status, error = await _post(client, path, {"staff_ids": wrong})
        assert status == 400, (wrong, error)
    async with transaction(demo.database_url) as session:
        rows = await session.scalars(
            select(ContactPerson.staff_id).where(ContactPerson.citizen_id == citizen)
            .order_by(ContactPerson.priority)
        )  # fmt: skip
        assert list(rows) == [ids["carla"], ids["anna"]]
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "citizen.contact_persons")
        )
    assert event is not None
    assert event.detail["changes"]["contact_persons"] == [
        ["Anna Jensen", "Carla Hansen"], ["Carla Hansen", "Anna Jensen"],
    ]  # fmt: skip
    page = await client.get("/")
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert await login(client, "anna") == 303
    assert (await _post(client, path, {"staff_ids": [ids["anna"]]}))[0] == 403
