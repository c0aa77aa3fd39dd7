"""Importing citizens and plans from CSV and JSON through the real API: all or nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from server.models import Citizen, Visit, VisitPlan
from tests.conftest import Client, login
from tests.databases import transaction


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


CSV_HEADER = (
    "citizen_ref,name,preferred_name,team,contact_persons,plan_ref,visit_type,rrule,time,"
    "window_min,duration_min,channels,valid_from,valid_to\n"
)
GOOD_CSV = CSV_HEADER + (
    "C1,Ida Import,Ida,Team Nord,anna;carla,P1,medication,FREQ=DAILY,08:00,15,5,"
    "tue=physical,2026-01-01,\n"
    "C1,Ida Import,Ida,Team Nord,anna;carla,P2,reassurance,FREQ=DAILY,15:00,15,5,,2026-01-01,\n"
)


async def _counts(db_url: str) -> tuple[int, int]:
    async with transaction(db_url) as session:
        citizens = await session.scalar(select(func.count()).select_from(Citizen))
        plans = await session.scalar(select(func.count()).select_from(VisitPlan))
    return citizens or 0, plans or 0


async def _post(client: Client, fmt: str, content: str) -> tuple[int, dict[str, object]]:
    page = await client.get("/")
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    response = await client.post(
        "/api/imports",
        json={"format": fmt, "content": content},
        headers={"X-CSRF-Token": token},
    )
    return response.status, await response.json()


async def test_import_csv_creates_citizen_plans_and_visits(demo: object, client: Client) -> None:
    """A valid CSV imports its citizen and plans and generates their visits."""
    assert await login(client, "pia") == 303
    status, body = await _post(client, "csv", GOOD_CSV)
    assert status == 200, body
    assert body["imported"] is True and body["plans"] == 2
    generated = body["visits_generated"]
    assert isinstance(generated, int) and generated > 0


async def test_import_is_idempotent_by_ref(demo: object, client: Client, db_url: str) -> None:
    """Importing the same file twice updates rather than duplicates."""
    assert await login(client, "pia") == 303
    await _post(client, "csv", GOOD_CSV)
    before = await _counts(db_url)
    status, _ = await _post(client, "csv", GOOD_CSV)
    assert status == 200
    assert await _counts(db_url) == before


async def test_import_one_bad_line_imports_nothing(
    demo: object, client: Client, db_url: str
) -> None:
    """An invalid RRULE on one line rejects the file with a line-by-line report."""
    assert await login(client, "pia") == 303
    before = await _counts(db_url)
    bad = GOOD_CSV + "C2,Ole Fejl,,Team Nord,,P3,bath,FREQ=SOMETIMES,10:00,15,5,,2026-01-01,\n"
    status, body = await _post(client, "csv", bad)
    assert status == 422
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "import_invalid"
    lines = error["details"]["lines"]
    assert [line["ok"] for line in lines] == [True, True, False]
    assert lines[2]["line"] == "line 4" and lines[2]["problems"][0]["code"] == "invalid_rrule"
    assert await _counts(db_url) == before


async def test_import_json_reports_references_and_overlaps(
    demo: object, client: Client, db_url: str
) -> None:
    """JSON with an unknown team and two overlapping medication plans imports nothing."""
    assert await login(client, "pia") == 303
    before = await _counts(db_url)
    plan = {"visit_type": "medication", "rrule": "FREQ=DAILY", "valid_from": "2026-01-01"}
    export = {
        "citizens": [
            {"ref": "J1", "name": "Jens Json", "team": "Team Øst"},
            {
                "ref": "J2",
                "name": "Jytte Json",
                "team": "Team Syd",
                "plans": [
                    {**plan, "ref": "JP1", "time": "08:00"},
                    {**plan, "ref": "JP2", "time": "08:10"},
                ],
            },
        ]
    }
    status, body = await _post(client, "json", json.dumps(export))
    assert status == 422
    lines = body["error"]["details"]["lines"]  # type: ignore[index]
    codes = {line["line"]: [p["code"] for p in line["problems"]] for line in lines}
    assert codes["citizens[0]"] == ["unknown_team"]
    assert codes["citizens[1].plans[1]"] == ["overlapping_non_swappable"]
    assert await _counts(db_url) == before
    async with transaction(db_url) as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) is not None
