"""One outcome in force per visit, tasks and observations that follow the outcome (both DBs)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from server.db import make_engine, make_sessionmaker
from server.models import InboxItem, Observation, ObservationCode, Outcome, OutcomeKind, Visit
from server.sealing import development_keyring
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.test_outcomes import _set_edit_minutes, post, rows_of


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Runs on SQLite and PostgreSQL."""
    return both_backends


async def test_double_submit_gives_one_outcome_and_one_task(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Two simultaneous taps on "converted to physical": one outcome, one task, one 409."""
    await login(client, "anna")
    path = f"/api/visits/{visits['Karen']}/outcome"
    body = {"kind": "converted_to_physical", "reason": "Skærmen virker ikke"}
    results = await asyncio.gather(post(client, path, body), post(client, path, body))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409], results
    refused = next(data for status, data in results if status == 409)
    assert refused["error"]["code"] == "outcome_exists"
    assert len(await rows_of(demo, Outcome)) == 1
    assert len([t for t in await rows_of(demo, InboxItem) if t.visit_id == visits["Karen"]]) == 1


async def test_database_refuses_a_second_outcome_in_force(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Even bypassing the code's checks: no second first outcome, no second amendment."""
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        maker = make_sessionmaker(engine)
        async with maker.begin() as session:
            first = Outcome(visit_id=visits["Karen"], kind=OutcomeKind.COMPLETED)
            session.add(first)
            await session.flush()
            session.add(
                Outcome(visit_id=visits["Karen"], kind=OutcomeKind.DECLINED, amends_id=first.id)
            )
            first_id = first.id
        with pytest.raises(IntegrityError):
            async with maker.begin() as session:
                session.add(Outcome(visit_id=visits["Karen"], kind=OutcomeKind.COMPLETED))
        with pytest.raises(IntegrityError):
            async with maker.begin() as session:
                session.add(
                    Outcome(
                        visit_id=visits["Karen"], kind=OutcomeKind.CANCELLED, amends_id=first_id
                    )
                )
    finally:
        await engine.dispose()


# PostgreSQL only: SQLite serialises writers, so there the check alone sees the other outcome.
@pytest.mark.parametrize("both_backends", ["postgres"], indirect=True)
async def test_race_past_the_check_reports_outcome_exists(
    client: Client, demo: Settings, visits: dict[str, int], db_url: str
) -> None:
    """PostgreSQL: a record whose check ran before another's commit fails as outcome_exists."""
    await login(client, "anna")
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            session.add(Outcome(visit_id=visits["Karen"], kind=OutcomeKind.COMPLETED))
            await session.flush()  # written, not committed: invisible to the API's check
            body = {"kind": "completed"}
            request = asyncio.ensure_future(
                post(client, f"/api/visits/{visits['Karen']}/outcome", body)
            )
            await _until_waiting_on_lock(session)
        status, data = await asyncio.wait_for(request, 30)
    finally:
        await engine.dispose()
    assert status == 409 and data["error"]["code"] == "outcome_exists", data
    assert len(await rows_of(demo, Outcome)) == 1


async def _until_waiting_on_lock(session: Any) -> None:
    """Wait until another PostgreSQL backend waits for a lock this transaction holds."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    for _ in range(600):
        if await session.scalar(query):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the API's insert never waited on the unique index")


async def test_changing_converted_to_physical_cancels_its_task(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Edit converted → completed closes the open task; a later amendment does the same."""
    await login(client, "anna")
    visit = visits["Karen"]
    converted = {"kind": "converted_to_physical", "reason": "Dårlig forbindelse"}
    status, first = await post(client, f"/api/visits/{visit}/outcome", converted)
    assert status == 201 and first["task_id"] is not None
    status, _ = await post(client, f"/api/outcomes/{first['id']}/edit", {"kind": "completed"})
    assert status == 200
    task = next(t for t in await rows_of(demo, InboxItem) if t.id == first["task_id"])
    assert task.closed_at is not None and "Annulleret" in (task.note or "")
    status, again = await post(client, f"/api/outcomes/{first['id']}/edit", converted)
    assert status == 200 and again["task_id"] not in (None, first["task_id"])
    await _set_edit_minutes(demo, 0)
    status, amended = await post(
        client, f"/api/outcomes/{first['id']}/amend", {"kind": "completed"}
    )
    assert status == 201
    open_tasks = [
        t for t in await rows_of(demo, InboxItem) if t.visit_id == visit and not t.closed_at
    ]
    assert open_tasks == []
    assert len(await rows_of(demo, InboxItem)) >= 2, "cancelled tasks stay as history"


async def test_edit_replaces_only_the_outcomes_own_observations(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """An observation the nurse added separately survives her correcting the outcome."""
    await login(client, "anna")
    visit = visits["Karen"]
    body = {"kind": "completed", "observations": [{"code": "appetite"}]}
    status, first = await post(client, f"/api/visits/{visit}/outcome", body)
    assert status == 201
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            row = await session.get_one(Visit, visit)
            author = (await session.scalars(select(Outcome.author_staff_id))).one()
            session.add(
                Observation(
                    visit_id=visit,
                    citizen_id=row.citizen_id,
                    code=ObservationCode.OTHER,
                    note="Ringede senere: faldet i går",
                    author_staff_id=author,
                )
            )
    finally:
        await engine.dispose()
    edited = {"kind": "completed", "observations": [{"code": "blood_sugar", "value": "6.1"}]}
    status, _ = await post(client, f"/api/outcomes/{first['id']}/edit", edited)
    assert status == 200
    codes = sorted(o.code.value for o in await rows_of(demo, Observation) if o.visit_id == visit)
    assert codes == ["blood_sugar", "other"]
