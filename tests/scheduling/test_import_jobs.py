"""Import jobs through the real server: 202 at once, progress, all or nothing, report lines."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bench.import_healthz import CSV_HEADER, export_csv
from server.app import create_app
from server.models import (
    AuditEvent,
    Citizen,
    Consent,
    ExternalRef,
    ImportJob,
    Organisation,
    Staff,
    Visit,
    VisitPlan,
)
from server.scheduling.import_jobs import MAX_UPLOAD_BYTES
from server.settings import Settings
from tests.conftest import Client, ClientFactory, login
from tests.databases import transaction

Json = dict[str, Any]


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL: the writer is the data layer."""
    return both_backends


async def _token(client: Client) -> str:
    page = await client.get("/")
    return (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]


async def _upload(
    client: Client, body: str | bytes, fmt: str = "csv", dry_run: bool = False
) -> tuple[int, Json]:
    headers = {"X-CSRF-Token": await _token(client), "Content-Type": "text/plain"}
    url = f"/api/import-jobs?format={fmt}&dry_run={int(dry_run)}&filename=eksport.{fmt}"
    data = body.encode() if isinstance(body, str) else body
    response = await client.post(url, data=data, headers=headers)
    return response.status, await response.json()


async def _follow(client: Client, job: Json) -> tuple[Json, list[int]]:
    """Poll the job until it is finished; its last state and every done_lines seen."""
    seen = [job["done_lines"]]
    while job["state"] in {"queued", "validating", "writing"}:
        await asyncio.sleep(0.05)
        response = await client.get(f"/api/import-jobs/{job['id']}")
        assert response.status == 200
        job = await response.json()
        seen.append(job["done_lines"])
    return job, seen


async def _count(db_url: str, model: type[Any]) -> int:
    async with transaction(db_url) as session:
        return (await session.scalar(select(func.count()).select_from(model))) or 0


async def _events(db_url: str, action: str) -> list[AuditEvent]:
    async with transaction(db_url) as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def _post_json(client: Client, fmt: str, content: str) -> tuple[int, Json]:
    response = await client.post(
        "/api/imports",
        json={"format": fmt, "content": content},
        headers={"X-CSRF-Token": await _token(client)},
    )
    return response.status, await response.json()


def _codes(lines: list[Json]) -> dict[str, list[str]]:
    return {line["line"]: [p["code"] for p in line["problems"]] for line in lines}


async def test_import_job_big_file_answers_202_and_progresses_to_done(
    demo: Settings, client: Client, db_url: str
) -> None:
    """A 1,500-line upload is answered 202 at once, its progress only grows, and all is written."""
    assert await login(client, "pia") == 303
    status, job = await _upload(client, export_csv(300))
    assert status == 202, job
    assert job["state"] in {"queued", "validating", "writing", "done"}
    job, seen = await _follow(client, job)
    assert job["state"] == "done", job
    assert seen == sorted(seen) and seen[-1] == 1500
    assert (job["total_lines"], job["percent"], job["citizens"], job["plans"]) == (
        1500,
        100,
        300,
        1500,
    )
    assert job["visits_generated"] > 0 and job["report"]["imported"] is True
    assert await _count(db_url, VisitPlan) >= 1500
    async with transaction(db_url) as session:
        refs = await session.scalar(
            select(func.count()).select_from(ExternalRef).where(ExternalRef.kind == "plan")
        )
    assert refs == 1500
    [event] = await _events(db_url, "import.run")
    assert event.detail["plans"] == 1500 and event.detail["filename"] == "eksport.csv"
    assert event.detail["dry_run"] is False and event.actor == "staff:pia"


async def test_import_job_bad_line_in_the_middle_writes_nothing(
    demo: Settings, client: Client, db_url: str
) -> None:
    """BYHOUR=25 on line 1,000 of 1,500 rejects the file, names the line, writes nothing."""
    assert await login(client, "pia") == 303
    before = (await _count(db_url, Citizen), await _count(db_url, VisitPlan))
    body = export_csv(300, bad_line=1000, rrule_at_bad="FREQ=DAILY;BYHOUR=25")
    status, job = await _upload(client, body)
    assert status == 202
    job, _ = await _follow(client, job)
    assert job["state"] == "rejected"
    report = job["report"]
    assert report["imported"] is False and report["bad_lines"] == 1
    assert _codes(report["lines"])["line 1000"] == ["invalid_rrule"]
    assert (await _count(db_url, Citizen), await _count(db_url, VisitPlan)) == before
    [event] = await _events(db_url, "import.rejected")
    assert event.detail["bad_lines"] == 1 and await _events(db_url, "import.run") == []


async def test_import_byhour_25_with_two_plans_is_a_line_not_a_500(
    demo: Settings, client: Client
) -> None:
    """A bad rule beside a second plan of the citizen (compared for overlaps) is a report line."""
    assert await login(client, "pia") == 303
    body = CSV_HEADER + (
        "B1,Bo Byhour,,Team Nord,,,,B1-P1,medication,FREQ=DAILY;BYHOUR=25,08:00,15,5,,2026-01-01,\n"
        "B1,Bo Byhour,,Team Nord,,,,B1-P2,blood_sugar,FREQ=DAILY,18:00,15,5,,2026-01-01,\n"
    )
    status, reply = await _post_json(client, "csv", body)
    assert status == 422, reply
    assert _codes(reply["error"]["details"]["lines"])["line 2"] == ["invalid_rrule"]


async def test_import_garbage_json_types_and_dates_are_report_lines(
    demo: Settings, client: Client
) -> None:
    """Non-objects, nested garbage, wrong types, NUL and year 9999 each get a coded line."""
    assert await login(client, "pia") == 303
    plan = {"ref": "G-P", "visit_type": "bath", "rrule": "FREQ=DAILY", "time": "10:00"}
    export = {
        "citizens": [
            7,
            {"ref": "G1", "name": {"first": [1, {"deep": None}]}, "team": "Team Nord"},
            {"ref": "G2", "name": "Gurli", "team": "Team Nord", "plans": "daily"},
            {"ref": "G3", "name": "Gert\u0000", "team": "Team Nord"},
            {
                "ref": "G4",
                "name": "Grethe",
                "team": "Team Nord",
                "plans": [
                    {**plan, "valid_from": "9999-12-31"},
                    {**plan, "ref": "G-P2", "valid_from": "2026-01-01", "window_min": "wide"},
                ],
            },
        ]
    }
    status, reply = await _post_json(client, "json", json.dumps(export))
    assert status == 422, reply
    codes = _codes(reply["error"]["details"]["lines"])
    assert codes["citizens[0]"] == ["not_an_object"]
    assert codes["citizens[1]"] == ["invalid_field"]
    assert codes["citizens[2].plans"] == ["not_a_list"]
    assert codes["citizens[3]"] == ["invalid_characters"]
    assert codes["citizens[4].plans[0]"] == ["date_out_of_range"]
    assert codes["citizens[4].plans[1]"] == ["invalid_field"]


async def test_import_csv_nul_byte_names_its_line(demo: Settings, client: Client) -> None:
    """A NUL byte in a CSV row is an invalid_characters problem on that row, not a 500."""
    assert await login(client, "pia") == 303
    body = CSV_HEADER + "N1,Nul\x00ler,,Team Nord,,,,,,,,,,,,\nN2,Nina,,Team Nord,,,,,,,,,,,,\n"
    status, reply = await _post_json(client, "csv", body)
    assert status == 422, reply
    codes = _codes(reply["error"]["details"]["lines"])
    assert codes == {"line 2": ["invalid_characters"], "line 3": []}


async def _chunks(total: int) -> AsyncIterator[bytes]:
    chunk = b"x" * (1024 * 1024)
    for _ in range(total // len(chunk)):
        yield chunk
    yield b"x" * (total % len(chunk))


@pytest.mark.parametrize("chunked", [False, True])
async def test_import_job_too_large_is_413(demo: Settings, client: Client, chunked: bool) -> None:
    """A file over the cap, announced or streamed without a length, is refused with 413."""
    assert await login(client, "pia") == 303
    total = MAX_UPLOAD_BYTES + 1
    body: Any = _chunks(total) if chunked else io.BytesIO(b"x" * total)
    headers = {"X-CSRF-Token": await _token(client)}
    response = await client.post("/api/import-jobs?format=csv", data=body, headers=headers)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "import_too_large"
    listing = await (await client.get("/api/import-jobs")).json()
    assert listing["jobs"] == []


@pytest.mark.parametrize("username", ["anna", "carla"])
async def test_import_job_refused_to_care_staff(
    demo: Settings, client: Client, username: str
) -> None:
    """Nurses and carers cannot upload or list imports."""
    assert await login(client, username) == 303
    status, reply = await _upload(client, export_csv(1))
    assert status == 403 and reply["error"]["code"] == "forbidden"
    assert (await client.get("/api/import-jobs")).status == 403


async def test_import_job_of_another_organisation_is_not_found(
    demo: Settings, client: Client, db_url: str
) -> None:
    """A job of another organisation is neither listed nor readable."""
    async with transaction(db_url) as session:
        other = Organisation(slug="andet", name="Anden Kommune")
        session.add(other)
        await session.flush()
        job = ImportJob(organisation_id=other.id, format="csv", state="done")
        session.add(job)
        await session.flush()
        job_id = job.id
    assert await login(client, "vera") == 303
    assert (await client.get(f"/api/import-jobs/{job_id}")).status == 404
    listing = await (await client.get("/api/import-jobs")).json()
    assert [j["id"] for j in listing["jobs"]] == []


async def test_import_consents_from_the_file_and_no_screen_consent_warning(
    demo: Settings, client: Client, db_url: str
) -> None:
    """Consents in the file are recorded once; citizens without one are named in the report."""
    assert await login(client, "pia") == 303
    body = CSV_HEADER + (
        "K1,Kaj Samtykke,,Team Nord,,screen_visits;auto_answer,Datter Lone,K1-P1,bath,"
        "FREQ=DAILY,10:00,15,5,,2026-01-01,\n"
        "K2,Kirsten Uden,,Team Syd,,,,K2-P1,bath,FREQ=DAILY,10:00,15,5,,2026-01-01,\n"
    )
    for _ in range(2):  # the second import finds the consents and adds none
        status, job = await _upload(client, body)
        assert status == 202
        job, _ = await _follow(client, job)
        assert job["state"] == "done", job
    report = job["report"]
    assert report["unreachable"] == [{"ref": "K2", "name": "Kirsten Uden"}]
    [line] = report["lines"]
    assert line["line"] == "line 3" and line["ok"] is True
    assert [w["code"] for w in line["warnings"]] == ["no_screen_consent"]
    async with transaction(db_url) as session:
        pia = await session.scalar(select(Staff.id).where(Staff.username == "pia"))
        rows = (
            await session.execute(
                select(Consent.kind, Consent.granted_by, Consent.recorded_by_staff_id)
                .join(ExternalRef, ExternalRef.local_id == Consent.citizen_id)
                .where(ExternalRef.kind == "citizen", ExternalRef.external_id == "K1")
            )
        ).all()
    assert sorted(rows) == [
        ("auto_answer", "Datter Lone", pia),
        ("screen_visits", "Datter Lone", pia),
    ]
    events = await _events(db_url, "import.run")
    assert [e.detail["consents"] for e in events] == [2, 0]


async def test_import_consents_need_who_gave_them(demo: Settings, client: Client) -> None:
    """Consents without consent_given_by are a line error."""
    assert await login(client, "pia") == 303
    body = CSV_HEADER + "K3,Karl,,Team Nord,,screen_visits,,,,,,,,,,\n"
    status, reply = await _post_json(client, "csv", body)
    assert status == 422
    assert _codes(reply["error"]["details"]["lines"]) == {"line 2": ["consent_given_by_missing"]}


async def test_import_medication_plan_is_not_retyped(demo: Settings, client: Client) -> None:
    """Re-importing a medication plan's ref as another visit type is medication_retype."""
    assert await login(client, "pia") == 303
    row = "M1,Mads Medicin,,Team Nord,,,,M1-P1,{type},FREQ=DAILY,08:00,15,5,,2026-01-01,\n"
    status, _ = await _post_json(client, "csv", CSV_HEADER + row.format(type="medication"))
    assert status == 200
    status, reply = await _post_json(client, "csv", CSV_HEADER + row.format(type="reassurance"))
    assert status == 422
    [line] = reply["error"]["details"]["lines"]
    assert [p["code"] for p in line["problems"]] == ["medication_retype"]
    assert "afslut den, og opret en ny" in line["problems"][0]["message"]


async def test_import_dry_run_writes_nothing(demo: Settings, client: Client, db_url: str) -> None:
    """A dry run checks every line, reports, and writes no citizen, plan or visit."""
    assert await login(client, "pia") == 303
    before = [await _count(db_url, m) for m in (Citizen, VisitPlan, Visit)]
    status, job = await _upload(client, export_csv(20), dry_run=True)
    job, _ = await _follow(client, job)
    assert job["state"] == "done" and job["report"]["imported"] is False
    assert job["dry_run"] is True and job["total_lines"] == 100
    assert [await _count(db_url, m) for m in (Citizen, VisitPlan, Visit)] == before
    [event] = await _events(db_url, "import.run")
    assert event.detail["dry_run"] is True


async def test_import_job_left_running_by_a_dead_process_is_failed_at_start(
    demo: Settings, aiohttp_client: ClientFactory, db_url: str
) -> None:
    """A job whose process on this host is gone is marked failed, saying how to finish it."""
    gone = f"{socket.gethostname()[:40]}:{os.getpid()}:earlier"
    elsewhere = "another-host:1:abc"
    async with transaction(db_url) as session:
        org = await session.scalar(select(Organisation.id))
        assert org is not None
        jobs = [
            ImportJob(organisation_id=org, format="csv", state="writing", report={"owner": o})
            for o in (gone, elsewhere)
        ]
        session.add_all(jobs)
        await session.flush()
        ids = [job.id for job in jobs]
    app: web.Application = create_app(demo)
    client = await aiohttp_client(app)
    assert await login(client, "pia") == 303
    dead = await (await client.get(f"/api/import-jobs/{ids[0]}")).json()
    assert dead["state"] == "failed" and "upload den samme fil igen" in dead["error"]
    assert dead["report"] is None
    other = await (await client.get(f"/api/import-jobs/{ids[1]}")).json()
    assert other["state"] == "writing"
