"""Recording outcomes and observations over the real JSON API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import InboxItem, InboxKind, Observation, Organisation
from server.sealing import development_keyring, settings_keyring
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.signaling.wsclient import open_socket


async def post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON with the session's CSRF token; status and parsed reply."""
    response = await client.post(path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def rows_of(settings: Settings, model: Any) -> list[Any]:
    """Every row of ``model`` (read straight from the database, with the app's data keys)."""
    engine = make_engine(settings.database_url, keyring=settings_keyring(settings))
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(model)))
    finally:
        await engine.dispose()


async def test_outcome_completed_with_observations_marks_visit_done(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """One tap "completed" with coded observations and free text; the visit is done."""
    await login(client, "anna")
    visit = visits["Karen"]
    body = {
        "kind": "completed",
        "observations": [{"code": "appetite"}, {"code": "blood_sugar", "value": "7.2"}],
        "note": "Glad i dag",
    }
    status, data = await post(client, f"/api/visits/{visit}/outcome", body)
    assert status == 201, data
    assert data["kind"] == "completed" and data["editable_until"] is not None
    history = await (await client.get(f"/api/visits/{visit}/outcomes")).json()
    assert history["status"] == "done"
    codes = sorted(o["code"] for o in history["observations"])
    assert codes == ["appetite", "blood_sugar", "other"]
    today = await (await client.get("/api/console/today")).json()
    row = next(r for r in today["rows"] if r["visit_id"] == visit)
    assert row["status"] == "done" and row["outcome"] == "completed"


async def test_outcome_reason_required_unless_completed(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Every other outcome without a reason is refused with a stable code, nothing written."""
    await login(client, "anna")
    status, data = await post(
        client, f"/api/visits/{visits['Karen']}/outcome", {"kind": "declined", "reason": "  "}
    )
    assert status == 400 and data["error"]["code"] == "reason_required"
    assert await rows_of(demo, Observation) == []


async def test_outcome_converted_to_physical_creates_team_task(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """ "Converted to physical" gives the visit's team one physical-visit task."""
    await login(client, "anna")
    body = {"kind": "converted_to_physical", "reason": "Svimmel, skal ses"}
    status, data = await post(client, f"/api/visits/{visits['Karen']}/outcome", body)
    assert status == 201 and data["task_id"] is not None
    tasks = await rows_of(demo, InboxItem)
    assert [(t.kind, t.visit_id, t.message) for t in tasks] == [
        (InboxKind.PHYSICAL_VISIT, visits["Karen"], "Svimmel, skal ses")
    ]
    status, again = await post(client, f"/api/visits/{visits['Karen']}/outcome", body)
    assert status == 409 and again["error"]["code"] == "outcome_exists"


async def test_outcome_edit_window_then_amendment_keeps_history(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """The author edits while the window is open; afterwards only an amendment, history kept."""
    await login(client, "anna")
    visit = visits["Karen"]
    _, first = await post(client, f"/api/visits/{visit}/outcome", {"kind": "completed"})
    status, edited = await post(
        client, f"/api/outcomes/{first['id']}/edit", {"kind": "partly_completed", "reason": "Træt"}
    )
    assert status == 200 and edited["id"] == first["id"] and edited["kind"] == "partly_completed"
    await _set_edit_minutes(demo, 0)
    status, closed = await post(client, f"/api/outcomes/{first['id']}/edit", {"kind": "completed"})
    assert status == 403 and closed["error"]["code"] == "edit_window_closed"
    status, amended = await post(
        client, f"/api/outcomes/{first['id']}/amend", {"kind": "completed"}
    )
    assert status == 201 and amended["amends_id"] == first["id"]
    history = await (await client.get(f"/api/visits/{visit}/outcomes")).json()
    assert [o["kind"] for o in history["outcomes"]] == ["partly_completed", "completed"]
    status, twice = await post(
        client, f"/api/outcomes/{first['id']}/amend", {"kind": "declined", "reason": "x"}
    )
    assert status == 409 and twice["error"]["code"] == "already_amended"


async def _set_edit_minutes(settings: Settings, minutes: int) -> None:
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            org = (await session.scalars(select(Organisation))).one()
            org.settings = {**org.settings, "outcome_edit_minutes": minutes}
    finally:
        await engine.dispose()


async def test_outcome_other_team_is_forbidden(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """A nurse of Team Syd can neither record nor read an outcome of a Team Nord visit."""
    await login(client, "bo")
    status, data = await post(
        client, f"/api/visits/{visits['Karen']}/outcome", {"kind": "completed"}
    )
    assert status == 403 and data["error"]["code"] == "forbidden"
    assert (await client.get(f"/api/visits/{visits['Karen']}/outcomes")).status == 403


async def test_outcome_pushes_visit_updated_to_team_sockets(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """The team's open consoles hear ``visit-updated`` at once (the list updates live)."""
    await login(client, "anna")
    sock = await open_socket(client)
    await post(client, f"/api/visits/{visits['Karen']}/outcome", {"kind": "completed"})
    update = await sock.expect("visit-updated", wait_s=10)
    assert update["visit_id"] == str(visits["Karen"]) and update["status"] == "done"
    await sock.ws.close()


async def test_only_a_nurse_may_record_a_medication_visit_as_carried_out(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """A carer on the team may say the citizen did not answer, not that the medicine was given."""
    await login(client, "carla")  # a carer in Karen's team; Karen's first visit is medication
    visit = visits["Karen"]
    for kind in ("completed", "partly_completed"):
        status, data = await post(
            client, f"/api/visits/{visit}/outcome", {"kind": kind, "reason": "kom forbi"}
        )
        assert status == 403 and data["error"]["code"] == "not_qualified", data
        assert data["error"]["details"]["qualified_roles"] == ["nurse"]
    assert await rows_of(demo, Observation) == []
    body = {"kind": "not_answered", "reason": "Tabletten ringede ud"}
    status, data = await post(client, f"/api/visits/{visit}/outcome", body)
    assert status == 201, data
