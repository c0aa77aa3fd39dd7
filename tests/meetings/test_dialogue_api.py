"""Dialogue support for meetings on SQLite and PostgreSQL: the tablet's two questions and its
answers, the host's notes per dignity-wheel theme, the copy into the sheet, follow-up tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.demo import demo_kiosk_token
from server.models import InboxItem, Staff, utcnow
from server.sealing import development_keyring
from server.settings import Settings
from server.vocabulary import InboxKind, InboxState
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.meetings import seed


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


def bearer(settings: Settings, index: int = 0) -> dict[str, str]:
    """The headers of demo tablet ``index`` (0: Karen's)."""
    return {"Authorization": f"Bearer {demo_kiosk_token(settings, index)}"}


async def tablet_post(
    client: Client, settings: Settings, body: object, index: int = 0
) -> tuple[int, dict[str, Any]]:
    """The tablet posts its answers."""
    response = await client.post(
        "/api/kiosk/meeting-answers", json=body, headers=bearer(settings, index)
    )
    return response.status, await response.json()


async def staff_send(
    client: Client, method: str, path: str, body: object
) -> tuple[int, dict[str, Any]]:
    """A logged-in staff member's JSON write with the CSRF header."""
    response = await client.request(method, path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def questions(client: Client, settings: Settings) -> dict[str, Any] | None:
    """What `/api/kiosk/me` says the tablet should ask now."""
    home = await (await client.get("/api/kiosk/me", headers=bearer(settings))).json()
    found: dict[str, Any] | None = home["questions"]
    return found


async def staff_id(settings: Settings, username: str) -> int:
    """A demo staff member's id."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            found = await session.scalar(select(Staff.id).where(Staff.username == username))
            assert found is not None
            return found
    finally:
        await engine.dispose()


async def test_tablet_is_asked_before_a_meeting_and_the_host_reads_the_answers(
    client: Client, demo: Settings
) -> None:
    """A meeting within a day (not within 15 min): /me offers the questions with the relatives;
    the answers are stored, the questions stop, and staff read "Karen vil gerne tale om: …"."""
    await seed.meeting(demo, starts_in=dt.timedelta(minutes=10))  # too close: not asked
    await seed.meeting(demo, starts_in=dt.timedelta(hours=30))  # too far ahead
    assert await questions(client, demo) is None
    visit = await seed.meeting(demo, starts_in=dt.timedelta(hours=3))
    asked = await questions(client, demo)
    assert asked is not None and asked["visit_id"] == visit
    relative = await seed.relative_of(demo)
    codes = [p["code"] for p in asked["people"]]
    assert f"relative:{relative}" in codes
    label = next(p["label"] for p in asked["people"] if p["code"] == f"relative:{relative}")
    assert label.startswith("Ida (")  # first name and relation
    body = {"visit_id": visit, "topics": ["medicine", "night"], "people": codes[:1]}
    status, stored = await tablet_post(client, demo, body)
    assert (status, stored["answered"]) == (200, True), stored
    assert await questions(client, demo) is None
    await login(client, "carla")  # any staff who may see Karen reads the answers
    got = await (await client.get(f"/api/visits/{visit}/dialogue")).json()
    assert got["summary"] == "Karen vil gerne tale om: Min medicin, Tryghed om natten"
    assert [p["code"] for p in got["people"]] == codes[:1]
    assert [t["label"] for t in got["themes"]][0] == "Dit hjem og samarbejdet"
    assert len(got["themes"]) == 6
    page = await (await client.get("/citizens/1")).text()  # and so does her citizen page
    assert "Karen vil gerne tale om: Min medicin, Tryghed om natten" in page


async def test_answers_are_validated_and_only_the_citizens_own_tablet_answers(
    client: Client, demo: Settings
) -> None:
    """Unknown topics and people, "Ingen andre" with others, another citizen's tablet, a visit
    that is no meeting and a meeting that has begun are refused with stable codes."""
    visit = await seed.meeting(demo, starts_in=dt.timedelta(hours=3))
    begun = await seed.meeting(demo, starts_in=dt.timedelta(minutes=-5))
    medication = await seed.meeting(demo, code="medication", starts_in=dt.timedelta(hours=1))
    cases: list[tuple[dict[str, object], int, int, str]] = [
        ({"visit_id": visit, "topics": ["gossip"]}, 0, 400, "invalid_input"),
        ({"visit_id": visit, "people": ["relative:999999"]}, 0, 422, "invalid_answer"),
        ({"visit_id": visit, "people": ["nobody", "contact_person"]}, 0, 422, "invalid_answer"),
        ({"visit_id": visit, "people": ["<script>"]}, 0, 400, "invalid_input"),
        ({"visit_id": visit, "topics": ["medicine"]}, 1, 404, "not_found"),
        ({"visit_id": medication, "topics": ["medicine"]}, 0, 422, "not_a_meeting"),
        ({"visit_id": begun, "topics": ["medicine"]}, 0, 409, "questions_closed"),
    ]
    for body, tablet, want_status, want_code in cases:
        status, answer = await tablet_post(client, demo, body, tablet)
        assert (status, answer["error"]["code"]) == (want_status, want_code), body
    response = await client.post("/api/kiosk/meeting-answers", json={"visit_id": visit})
    assert response.status == 403  # no tablet token
    status, skipped = await tablet_post(client, demo, {"visit_id": visit, "skipped": True})
    assert (status, skipped["skipped"]) == (200, True)
    assert await questions(client, demo) is None  # "Ikke nu" is an answer too


async def test_only_staff_who_may_see_the_citizen_read_and_hosts_write_notes(
    client: Client, demo: Settings
) -> None:
    """Another team's nurse cannot read; a carer reads but writes no notes; the host's notes
    are kept per theme (a blank one removed) and audited."""
    visit = await seed.meeting(demo)
    await login(client, "bo")
    assert (await client.get(f"/api/visits/{visit}/dialogue")).status == 403
    await client.post("/logout", headers=await csrf(client))
    await login(client, "carla")
    path = f"/api/visits/{visit}/dialogue/notes"
    status, answer = await staff_send(client, "POST", path, {"notes": {"safety": "x"}})
    assert (status, answer["error"]["code"]) == (403, "not_host")
    await client.post("/logout", headers=await csrf(client))
    await login(client, "anna")
    status, answer = await staff_send(client, "POST", path, {"notes": {"feelings": "x"}})
    assert (status, answer["error"]["code"]) == (400, "invalid_input")
    notes = {"safety": "Utryg om natten", "health": "Spiser lidt"}
    assert (await staff_send(client, "POST", path, {"notes": notes}))[0] == 200
    assert (await staff_send(client, "POST", path, {"notes": {"health": " "}}))[0] == 200
    got = await (await client.get(f"/api/visits/{visit}/dialogue")).json()
    assert {t["code"]: t["note"] for t in got["themes"] if t["note"]} == {
        "safety": "Utryg om natten"
    }
    assert await seed.audit_actions(demo, "meeting.") == ["meeting.notes", "meeting.notes"]


async def test_notes_are_copied_into_the_meetings_sheet_as_a_new_version(
    client: Client, demo: Settings
) -> None:
    """No sheet yet: 409 no_agreement_sheet; with one, its topics gain the notes in version 2."""
    visit = await seed.meeting(demo, starts_in=dt.timedelta(minutes=-10))
    await login(client, "vera")
    await staff_send(
        client, "POST", f"/api/visits/{visit}/dialogue/notes", {"notes": {"safety": "Nødkald"}}
    )
    copy = f"/api/visits/{visit}/dialogue/copy-to-agreement"
    status, answer = await staff_send(client, "POST", copy, {})
    assert (status, answer["error"]["code"]) == (409, "no_agreement_sheet")
    sheet = {
        "meeting_date": utcnow().date().isoformat(),
        "participants": ["Karen", "Vera"],
        "topics": "Hjælp om morgenen",
        "municipality_does": "Kommer kl. 8",
        "visit_id": visit,
    }
    status, made = await staff_send(client, "POST", "/api/citizens/1/agreements", sheet)
    assert status == 201, made
    status, copied = await staff_send(client, "POST", copy, {})
    assert (status, copied["version"]) == (200, 2), copied
    versions = await (await client.get(f"/api/citizens/1/agreements/{made['id']}/versions")).json()
    topics = [v["topics"] for v in versions["versions"]]
    assert topics == ["Hjælp om morgenen\nAt føle sig tryg: Nødkald", "Hjælp om morgenen"]


async def test_follow_up_task_lands_in_the_team_inbox_with_owner_and_due_date(
    client: Client, demo: Settings
) -> None:
    """The task is an inbox item of Karen's team, held by its owner and due at the end of the
    day; an owner outside the team and a past due date are refused; overdue escalates it."""
    visit = await seed.meeting(demo, starts_in=dt.timedelta(minutes=-10))
    carla, bo = await staff_id(demo, "carla"), await staff_id(demo, "bo")
    await login(client, "anna")
    path = f"/api/visits/{visit}/follow-up-tasks"
    tomorrow = (utcnow() + dt.timedelta(days=1)).date().isoformat()
    past = (utcnow() - dt.timedelta(days=3)).date().isoformat()
    bad = [
        ({"text": "Ring", "owner_staff_id": bo, "due_date": tomorrow}, 422, "invalid_owner"),
        ({"text": "Ring", "owner_staff_id": carla, "due_date": past}, 422, "invalid_due_date"),
        ({"text": " ", "owner_staff_id": carla, "due_date": tomorrow}, 400, "invalid_input"),
    ]
    for body, want_status, want_code in bad:
        status, answer = await staff_send(client, "POST", path, body)
        assert (status, answer["error"]["code"]) == (want_status, want_code), body
    body = {"text": "Bestil nødkald", "owner_staff_id": carla, "due_date": tomorrow}
    status, task = await staff_send(client, "POST", path, body)
    assert status == 201, task
    assert (task["owner_name"], task["state"]) == ("Carla Hansen", "taken")
    listing = await (await client.get("/api/inbox")).json()
    item = next(i for i in listing["items"] if i["id"] == task["item_id"])
    assert (item["kind"], item["taken_by_name"], item["visit_id"]) == (
        "follow_up_task",
        "Carla Hansen",
        visit,
    )
    assert item["due_at"] is not None and item["team_name"] == "Team Nord"
    got = await (await client.get(f"/api/visits/{visit}/dialogue")).json()
    assert [t["text"] for t in got["tasks"]] == ["Bestil nødkald"]
    assert "Carla Hansen" in [o["label"] for o in got["owners"]]
    await overdue_is_escalated(demo, task["item_id"])


async def overdue_is_escalated(settings: Settings, item_id: int) -> None:
    """Past its due time, the inbox's escalation picks the task up like any other item."""
    from server.scheduling.overdue import escalate_overdue

    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            item = await session.get_one(InboxItem, item_id)
            assert (item.kind, item.state) == (InboxKind.FOLLOW_UP_TASK, InboxState.TAKEN)
            assert item.due_at is not None
            found = await escalate_overdue(session, item.due_at + dt.timedelta(minutes=1))
            assert item_id in [o.change.item_id for o in found]
    finally:
        await engine.dispose()
