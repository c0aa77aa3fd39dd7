"""The visit-plan API on a real server, on SQLite and PostgreSQL: edits, refusals, regeneration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import (
    AuditEvent,
    Channel,
    Citizen,
    Outcome,
    OutcomeKind,
    Team,
    Visit,
    VisitPlan,
    VisitStatus,
)
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction
from tests.zone import LOCAL_ZONE, today


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and PostgreSQL."""
    return both_backends


async def _ids(db_url: str) -> tuple[int, int]:
    """Karen's id (medication 08:00 daily in the demo) and Team Nord's id."""
    async with transaction(db_url) as session:
        citizen = await session.scalar(select(Citizen.id).where(Citizen.name == "Karen Sørensen"))
        team = await session.scalar(select(Team.id).where(Team.name == "Team Nord"))
    assert citizen is not None and team is not None
    return citizen, team


def _tomorrow() -> dt.date:
    return today() + dt.timedelta(days=1)


def _plan(citizen: int, team: int, **fields: Any) -> dict[str, Any]:
    body = {
        "citizen_id": citizen,
        "visit_type": "reassurance",
        "team_id": team,
        "rrule": "FREQ=DAILY",
        "local_time": "11:00",
        "window_min": 15,
        "duration_min": 5,
        "valid_from": _tomorrow().isoformat(),
    }
    return body | fields


async def _post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    page = await client.get("/")
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    response = await client.post(path, json=body, headers={"X-CSRF-Token": token})
    return response.status, await response.json()


async def _plan_visits(db_url: str, plan_id: int) -> list[Visit]:
    async with transaction(db_url) as session:
        query = select(Visit).where(Visit.plan_id == plan_id).order_by(Visit.planned_at)
        return list(await session.scalars(query))


async def _plan_count(db_url: str) -> int:
    async with transaction(db_url) as session:
        return int(await session.scalar(select(func.count()).select_from(VisitPlan)) or 0)


async def test_planner_creates_plan_with_channels_visits_and_audit(
    client: Client, demo: Settings
) -> None:
    """A new plan generates its visits, physical on its physical weekday, and is audited."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "pia") == 303
    body = _plan(
        citizen, team, rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR", channel_by_weekday={"wed": "physical"}
    )
    status, saved = await _post(client, "/api/plans", body)
    assert status == 201, saved
    assert saved["plan"]["channel_by_weekday"] == {"wed": "physical"}
    assert saved["warnings"] == []
    visits = await _plan_visits(demo.database_url, saved["plan"]["id"])
    assert len(visits) == saved["generation"]["created"] >= 5
    for visit in visits:
        local = visit.planned_at.astimezone(LOCAL_ZONE)
        assert (local.hour, local.minute) == (11, 0)
        wednesday = local.weekday() == 2
        assert visit.channel == (Channel.PHYSICAL if wednesday else Channel.SCREEN)
    async with transaction(demo.database_url) as session:
        actions = set(await session.scalars(select(AuditEvent.action)))
    assert "plan.create" in actions


async def test_nurse_reads_plans_but_cannot_change_them(client: Client, demo: Settings) -> None:
    """Nurses see their citizens' plans; only planners, visitators and admins change them."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "anna") == 303
    response = await client.get(f"/api/plans?citizen_id={citizen}")
    assert response.status == 200
    plans = (await response.json())["plans"]
    assert {p["visit_type"] for p in plans} >= {"medication"}
    status, error = await _post(client, "/api/plans", _plan(citizen, team))
    assert (status, error["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"rrule": "FREQ=SOMETIMES"}, "invalid_rrule"),
        ({"rrule": "FREQ=DAILY;BYHOUR=8,9", "window_min": 45}, "window_overlaps_next"),
        ({"window_min": 500}, "window_out_of_range"),
        ({"valid_to": "2020-01-01"}, "valid_to_before_valid_from"),
    ],
)
async def test_invalid_plan_is_refused_and_nothing_written(
    client: Client, demo: Settings, fields: dict[str, Any], code: str
) -> None:
    """Errors come back as 422 plan_invalid with each problem's code; no plan is stored."""
    citizen, team = await _ids(demo.database_url)
    before = await _plan_count(demo.database_url)
    assert await login(client, "pia") == 303
    status, error = await _post(client, "/api/plans", _plan(citizen, team, **fields))
    assert status == 422, error
    assert error["error"]["code"] == "plan_invalid"
    assert code in {p["code"] for p in error["error"]["details"]["problems"]}
    assert "ikke gyldig" in error["error"]["message"]
    assert await _plan_count(demo.database_url) == before


async def test_spring_and_autumn_0230_are_saved_with_warnings(
    client: Client, demo: Settings
) -> None:
    """02:30 is saved; the client is told it does not exist in March and repeats in October."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "pia") == 303
    body = _plan(citizen, team, local_time="02:30", valid_from="2027-03-01", valid_to="2027-12-31")
    status, saved = await _post(client, "/api/plans", body)
    assert status == 201, saved
    warnings = {(w["code"], w["on"]) for w in saved["warnings"]}
    assert warnings == {
        ("nonexistent_local_time", "2027-03-28"),
        ("ambiguous_local_time", "2027-10-31"),
    }
    assert all(w["severity"] == "warning" and "02:30" in w["message"] for w in saved["warnings"])


async def test_overlapping_non_swappable_plans_are_refused(client: Client, demo: Settings) -> None:
    """Blood sugar at 08:10 clashes with Karen's 08:00 medication: 409, nothing stored."""
    citizen, team = await _ids(demo.database_url)
    before = await _plan_count(demo.database_url)
    assert await login(client, "pia") == 303
    body = _plan(citizen, team, visit_type="blood_sugar", local_time="08:10")
    status, error = await _post(client, "/api/plans", body)
    assert (status, error["error"]["code"]) == (409, "non_swappable_overlap"), error
    assert "medication" in error["error"]["message"]  # the visit types' codes
    assert await _plan_count(demo.database_url) == before
    status, _ = await _post(client, "/api/plans", _plan(citizen, team, local_time="08:10"))
    assert status == 201  # a swappable reassurance call may share the time


async def test_edit_moves_future_visits_but_never_a_documented_one(
    client: Client, demo: Settings
) -> None:
    """Changing the time moves untouched visits; a completed visit keeps its time and status."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "pia") == 303
    _, saved = await _post(client, "/api/plans", _plan(citizen, team))
    plan_id = saved["plan"]["id"]
    first, *_ = await _plan_visits(demo.database_url, plan_id)
    async with transaction(demo.database_url) as session:
        done = await session.get_one(Visit, first.id)
        done.status = VisitStatus.DONE
        session.add(Outcome(visit_id=first.id, kind=OutcomeKind.COMPLETED))
    status, edited = await _post(client, f"/api/plans/{plan_id}", {"local_time": "13:00"})
    assert status == 200, edited
    assert (
        edited["generation"]["updated"] == len(await _plan_visits(demo.database_url, plan_id)) - 1
    )
    documented, *others = await _plan_visits(demo.database_url, plan_id)
    assert (documented.id, documented.planned_at, documented.status) == (
        first.id,
        first.planned_at,
        VisitStatus.DONE,
    )
    assert {v.planned_at.astimezone(LOCAL_ZONE).hour for v in others} == {13}


async def test_one_off_changes_pause_and_adjustment(client: Client, demo: Settings) -> None:
    """Move, cancel and switch one day each; a pause cancels and its removal restores visits."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "pia") == 303
    _, saved = await _post(client, "/api/plans", _plan(citizen, team))
    plan = f"/api/plans/{saved['plan']['id']}"
    day = [_tomorrow() + dt.timedelta(days=n) for n in range(5)]
    move = {
        "date": str(day[1]),
        "kind": "move",
        "move_to_date": str(day[1]),
        "move_to_time": "16:00",
        "reason": "Lægebesøg om formiddagen",
    }
    for change in (
        move,
        {"date": str(day[2]), "kind": "cancel", "reason": "Hos frisøren"},
        {"date": str(day[3]), "kind": "switch", "channel": "physical", "reason": "Fysisk tjek"},
    ):
        status, body = await _post(client, f"{plan}/changes", change)
        assert status == 200, body
    incomplete = {"date": str(day[4]), "kind": "move", "reason": "?"}
    status, body = await _post(client, f"{plan}/changes", incomplete)
    assert (status, body["error"]["code"]) == (400, "change_incomplete")
    by_day = {
        v.planned_at.astimezone(LOCAL_ZONE).date(): v
        for v in await _plan_visits(demo.database_url, saved["plan"]["id"])
    }
    assert by_day[day[1]].planned_at.astimezone(LOCAL_ZONE).hour == 16
    assert by_day[day[2]].status == VisitStatus.CANCELLED
    assert by_day[day[3]].channel == Channel.PHYSICAL
    pause = {"citizen_id": citizen, "start": str(day[4]), "end": str(day[4]), "reason": "Sygehus"}
    status, paused = await _post(client, "/api/pauses", pause)
    assert status == 201 and paused["generation"]["cancelled"] >= 2, paused  # every plan
    status, resumed = await _post(client, f"/api/pauses/{paused['pause']['id']}/remove", {})
    assert status == 200 and resumed["generation"]["updated"] == paused["generation"]["cancelled"]
    extra = {
        "visit_type": "reassurance",
        "rrule": "FREQ=DAILY",
        "local_time": "15:30",
        "valid_from": str(day[0]),
        "valid_to": str(day[1]),
        "reason": "Ekstra tryghed efter fald",
    }
    status, adjusted = await _post(client, f"{plan}/adjustments", extra)
    assert status == 200 and adjusted["generation"]["created"] == 2, adjusted


async def test_end_plan_cancels_later_untouched_visits(client: Client, demo: Settings) -> None:
    """Ending a plan after a day cancels its later visits with a reason; earlier ones stay."""
    citizen, team = await _ids(demo.database_url)
    assert await login(client, "vera") == 303
    _, saved = await _post(client, "/api/plans", _plan(citizen, team))
    plan_id = saved["plan"]["id"]
    last = _tomorrow() + dt.timedelta(days=2)
    body = {"last_day": str(last), "reason": "Flytter på plejehjem"}
    status, ended = await _post(client, f"/api/plans/{plan_id}/end", body)
    assert status == 200 and ended["plan"]["valid_to"] == str(last), ended
    visits = await _plan_visits(demo.database_url, plan_id)
    kept = [v for v in visits if v.status == VisitStatus.PLANNED]
    assert len(kept) == 3 and ended["generation"]["cancelled"] == len(visits) - 3
    assert all(v.planned_at.astimezone(LOCAL_ZONE).date() <= last for v in kept)
