"""Medication safety on the plan API, on SQLite and PostgreSQL: refusals, overrides and roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.models import AuditEvent, Citizen, PlanChange, Team
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction
from tests.scheduling.test_plans_api import _post
from tests.zone import today


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and PostgreSQL."""
    return both_backends


async def _dose_plan(client: Client, db_url: str) -> int:
    """As the planner: Inger (Team Nord, no medication yet) gets a dose at 08:30 ±15 daily."""
    async with transaction(db_url) as session:
        citizen = await session.scalar(select(Citizen.id).where(Citizen.name == "Inger Madsen"))
        team = await session.scalar(select(Team.id).where(Team.name == "Team Nord"))
    assert await login(client, "pia") == 303
    body = {
        "citizen_id": citizen, "visit_type": "medication", "team_id": team,
        "schedule": {"days": "every_day"}, "local_time": "08:30", "window_min": 15,
        "valid_from": _day(1).isoformat(),
    }  # fmt: skip
    status, saved = await _post(client, "/api/plans", body)
    assert status == 201, saved
    return int(saved["plan"]["id"])


def _day(n: int) -> dt.date:
    """The local date n days from today."""
    return today() + dt.timedelta(days=n)


def _move(day: dt.date, to_day: dt.date, to_time: str, **extra: str) -> dict[str, Any]:
    """A one-off move of the dose of `day`, with a reason."""
    return {
        "date": day.isoformat(), "kind": "move", "move_to_date": to_day.isoformat(),
        "move_to_time": to_time, "reason": "Borgeren skal til frisør",
    } | extra  # fmt: skip


async def _changes(db_url: str, plan_id: int) -> list[PlanChange]:
    async with transaction(db_url) as session:
        return list(await session.scalars(select(PlanChange).where(PlanChange.plan_id == plan_id)))


async def _logout_login(client: Client, username: str) -> None:
    page = await client.get("/")
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert await login(client, username) == 303


async def test_planner_is_refused_every_unsafe_move_and_retype(
    client: Client, demo: Settings
) -> None:
    """The issue's three silent accepts are refused with their codes, and nothing is written."""
    plan = await _dose_plan(client, demo.database_url)
    path = f"/api/plans/{plan}"
    status, error = await _post(client, f"{path}/changes", _move(_day(2), _day(2), "15:00"))
    assert (status, error["error"]["code"]) == (409, "medication_out_of_window"), error
    assert "mellem 08:15 og 08:45" in error["error"]["message"]
    details = error["error"]["details"]
    assert details["may_override"] is False
    assert details["breaches"][0]["latest"].endswith("T08:45")
    status, error = await _post(client, f"{path}/changes", _move(_day(3), _day(2), "08:35"))
    assert (status, error["error"]["code"]) == (409, "medication_too_close"), error
    codes = [b["code"] for b in error["error"]["details"]["breaches"]]
    assert codes == ["medication_too_close", "medication_out_of_window"]
    assert "5 min fra dosis" in error["error"]["message"]
    status, error = await _post(client, path, {"visit_type": "reassurance"})
    assert (status, error["error"]["code"]) == (409, "medication_retype"), error
    assert "Afslut denne plan, og opret en ny" in error["error"]["message"]
    override = _move(_day(2), _day(2), "15:00", override_reason="Lægen har sagt det")
    status, error = await _post(client, f"{path}/changes", override)
    assert (status, error["error"]["code"]) == (403, "override_not_allowed")
    assert await _changes(demo.database_url, plan) == []
    status, ok = await _post(client, f"{path}/changes", _move(_day(2), _day(2), "08:40"))
    assert status == 200, ok  # inside the window


async def test_visitator_and_own_team_nurse_override_with_reason(
    client: Client, demo: Settings
) -> None:
    """Vera and Anna (Team Nord) override with a reason, audited; Bo (Team Syd) may not."""
    plan = await _dose_plan(client, demo.database_url)
    path = f"/api/plans/{plan}/changes"
    await _logout_login(client, "vera")
    blank = _move(_day(2), _day(2), "15:00", override_reason="   ")
    assert (await _post(client, path, blank))[0] == 400
    body = _move(_day(2), _day(2), "15:00", override_reason="Lægen flytter dosis i dag")
    status, saved = await _post(client, path, body)
    assert status == 200, saved
    await _logout_login(client, "anna")
    body = _move(_day(4), _day(4), "12:00", override_reason="Aftalt med lægen")
    status, saved = await _post(client, path, body)
    assert status == 200, saved
    status, error = await _post(client, path, _move(_day(5), _day(5), "12:00"))
    assert (status, error["error"]["details"]["may_override"]) == (409, True)
    status, error = await _post(client, f"/api/plans/{plan}", {"local_time": "09:00"})
    assert status == 403  # nurses make one-off changes only
    await _logout_login(client, "bo")
    body = _move(_day(5), _day(5), "12:00", override_reason="Aftalt med lægen")
    status, error = await _post(client, path, body)
    assert (status, error["error"]["code"]) == (403, "forbidden"), error
    async with transaction(demo.database_url) as session:
        overrides = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "plan.medication_override")
                .order_by(AuditEvent.id)
            )
        )
    assert [(e.actor, e.detail["rules"], e.detail["reason"]) for e in overrides] == [
        ("staff:vera", ["medication_out_of_window"], "Lægen flytter dosis i dag"),
        ("staff:anna", ["medication_out_of_window"], "Aftalt med lægen"),
    ]
    assert len(await _changes(demo.database_url, plan)) == 2


async def test_gap_follows_the_organisation_setting(client: Client, demo: Settings) -> None:
    """With medication_min_gap_h at 1, a dose moved 3 h from another passes the gap rule."""
    plan = await _dose_plan(client, demo.database_url)
    await _logout_login(client, "admin")
    current = await (await client.get("/api/admin/settings")).json()
    status, _ = await _post(client, "/api/admin/settings", current | {"medication_min_gap_h": 1})
    assert status == 200
    await _logout_login(client, "vera")
    body = _move(_day(3), _day(3), "05:30", override_reason="Tidlig indlæggelse")
    status, saved = await _post(client, f"/api/plans/{plan}/changes", body)
    assert status == 200, saved
    async with transaction(demo.database_url) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "plan.medication_override")
        )
    assert event is not None and event.detail["rules"] == ["medication_out_of_window"]
