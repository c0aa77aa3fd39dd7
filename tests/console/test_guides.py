"""Guided scripts per visit type: defaults, the admin's own versions, and the call view."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from server.db import make_engine, make_sessionmaker
from server.demo import VISIT_TYPES, seed_demo
from server.models import AuditEvent, Visit, VisitType
from server.sealing import development_keyring
from server.settings import Settings
from server.visits.guides import DEFAULTS, GENERAL, MAX_STEPS, Script
from tests.conftest import Client, login
from tests.console.conftest import csrf

VISIT_TYPE_CODES = (
    "wake_up",
    "meal_drink",
    "structure",
    "reassurance",
    "bath",
    "medication",
    "blood_sugar",
)

WAKE_UP: dict[str, Any] = {
    "intro": {"da": "Godmorgen, Inger! Vi tager det roligt.", "en": "Good morning, Inger!"},
    "steps": [
        {"kind": "prompt", "text": {"da": "Har du sovet godt?", "en": "Did you sleep well?"}},
        {"kind": "confirm", "text": {"da": "Gardinerne er trukket fra", "en": "Curtains open"}},
        {"kind": "confirm", "text": {"da": "Kaffen er sat over", "en": "Coffee is on"}},
    ],
    "note": {"da": "Inger hører bedst på højre øre.", "en": "Inger hears best on the right."},
    "measurement": None,
    "dignity_wheel": False,
}


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return both_backends


async def call(
    client: Client, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """A JSON request with the session's CSRF token; status and parsed reply."""
    response = await client.request(method, path, json=body, headers=await csrf(client))
    return response.status, await response.json()


async def db_scalar(settings: Settings, query: Any) -> Any:
    """One value straight from the database."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(query)
    finally:
        await engine.dispose()


def test_guides_every_visit_type_has_its_own_script() -> None:
    """Each visit type has a specific default; none of them is the general script."""
    scripts = [DEFAULTS[code] for code in VISIT_TYPE_CODES]
    intros = {s.intro.da for s in scripts} | {GENERAL.intro.da}
    assert len(intros) == len(VISIT_TYPE_CODES) + 1
    assert "visitation_meeting" in DEFAULTS
    assert DEFAULTS["blood_sugar"].measurement == "blood_sugar"
    assert DEFAULTS["bath"].note is not None and "kamera" in DEFAULTS["bath"].note.da
    for script in [*scripts, GENERAL]:
        assert all(step.text.da and step.text.en for step in script.steps)
    assert {code for code, *_ in VISIT_TYPES} >= set(VISIT_TYPE_CODES)


async def test_guides_listed_for_staff_with_defaults(client: Client, demo: Settings) -> None:
    """A nurse reads every visit type's script, each the default and not customised."""
    await login(client, "anna")
    response = await client.get("/api/guides")
    assert response.status == 200
    listed = {g["code"]: g for g in (await response.json())["guides"]}
    assert set(listed) == {code for code, *_ in VISIT_TYPES}
    assert listed["structure"]["name_da"] == "Struktur og påmindelser"
    for code, guide in listed.items():
        assert not guide["customised"]
        assert Script.model_validate(guide["script"]) == DEFAULTS[code]
    response = await client.get("/api/guides/no_such_type")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "unknown_visit_type"


async def test_guides_admin_replaces_then_resets_with_audit(client: Client, demo: Settings) -> None:
    """PUT stores the organisation's own script, DELETE brings the default back; both audited."""
    await login(client, "admin")
    status, saved = await call(client, "PUT", "/api/guides/wake_up", WAKE_UP)
    assert status == 200, saved
    assert saved["customised"] and saved["script"] == WAKE_UP
    one = await (await client.get("/api/guides/wake_up")).json()
    assert one["customised"] and one["script"]["intro"]["da"].startswith("Godmorgen, Inger")
    # The organisation's other settings are untouched and keep the scripts when saved.
    settings = await (await client.get("/api/admin/settings")).json()
    status, _ = await call(client, "POST", "/api/admin/settings", settings)
    assert status == 200
    assert (await (await client.get("/api/guides/wake_up")).json())["customised"]
    status, reset = await call(client, "DELETE", "/api/guides/wake_up")
    assert status == 200 and not reset["customised"]
    assert Script.model_validate(reset["script"]) == DEFAULTS["wake_up"]
    events = await (await client.get("/api/admin/audit?action=guide.")).json()
    actions = [(e["action"], e["subject_kind"], e["subject_id"]) for e in events["events"]]
    assert actions == [
        ("guide.reset", "visit_type", "wake_up"),
        ("guide.update", "visit_type", "wake_up"),
    ]
    assert events["events"][1]["detail"]["script"]["steps"][1]["kind"] == "confirm"


async def test_guides_only_admins_change_them(client: Client, demo: Settings) -> None:
    """A nurse may read but not replace or reset; a change without CSRF is refused too."""
    await login(client, "anna")
    status, body = await call(client, "PUT", "/api/guides/wake_up", WAKE_UP)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await call(client, "DELETE", "/api/guides/wake_up")
    assert status == 403 and body["error"]["code"] == "forbidden"
    await login(client, "admin")
    response = await client.put("/api/guides/wake_up", json=WAKE_UP)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "csrf_failed"
    count = await db_scalar(
        demo, select(func.count(AuditEvent.id)).where(AuditEvent.action.like("guide.%"))
    )
    assert count == 0


def broken(change: str) -> dict[str, Any]:
    """The wake-up script above with one thing wrong."""
    script = copy.deepcopy(WAKE_UP)
    step = {"kind": "prompt", "text": {"da": "Trin", "en": "Step"}}
    match change:
        case "no_english":
            del script["intro"]["en"]
        case "blank_danish":
            script["steps"][0]["text"]["da"] = "   "
        case "no_steps":
            script["steps"] = []
        case "too_many_steps":
            script["steps"] = [step] * (MAX_STEPS + 1)
        case "step_too_long":
            script["steps"][0]["text"]["en"] = "x" * 301
        case "two_lines":
            script["steps"][0]["text"]["da"] = "første\nanden"
        case "unknown_kind":
            script["steps"][0]["kind"] = "maybe"
        case "unknown_field":
            script["colour"] = "red"
        case "unknown_measurement":
            script["measurement"] = "pulse"
    return script


INVALID = {
    "no_english": ["intro", "en"],
    "blank_danish": ["steps", "0", "text", "da"],
    "no_steps": ["steps"],
    "too_many_steps": ["steps"],
    "step_too_long": ["steps", "0", "text", "en"],
    "two_lines": ["steps", "0", "text", "da"],
    "unknown_kind": ["steps", "0", "kind"],
    "unknown_field": ["colour"],
    "unknown_measurement": ["measurement"],
}


async def test_guides_invalid_script_refused(client: Client, demo: Settings) -> None:
    """A missing language, no or too many steps, too long a text or an unknown field is refused
    with ``invalid_input`` and where, nothing stored; an unknown visit type is a 404."""
    await login(client, "admin")
    for change, where in INVALID.items():
        status, body = await call(client, "PUT", "/api/guides/wake_up", broken(change))
        assert status == 400 and body["error"]["code"] == "invalid_input", change
        assert where in [d["loc"] for d in body["error"]["details"]], change
    assert not (await (await client.get("/api/guides/wake_up")).json())["customised"]
    attempts: list[tuple[str, Any]] = [("PUT", WAKE_UP), ("DELETE", None)]
    for method, body in attempts:
        status, reply = await call(client, method, "/api/guides/tea_party", body)
        assert status == 404 and reply["error"]["code"] == "unknown_visit_type", method


async def test_guides_call_view_shows_the_organisations_script(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Inger's wake-up call shows the admin's script, in Danish and then in English; Jens's
    blood sugar its measurement field; a call without a visit the general script."""
    visit_id = visits["Inger"]
    citizen_id = await db_scalar(demo, select(Visit.citizen_id).where(Visit.id == visit_id))
    await login(client, "anna")
    page = await (await client.get(f"/call/{citizen_id}?visit={visit_id}")).text()
    assert DEFAULTS["wake_up"].intro.da in page and GENERAL.intro.da not in page
    await login(client, "admin")
    status, _ = await call(client, "PUT", "/api/guides/wake_up", WAKE_UP)
    assert status == 200
    await login(client, "anna")
    page = await (await client.get(f"/call/{citizen_id}?visit={visit_id}")).text()
    assert "Godmorgen, Inger! Vi tager det roligt." in page
    assert "Inger hører bedst på højre øre." in page
    # The confirm steps are the checkboxes, numbered by their place in the script.
    assert 'name="step" value="2"> Gardinerne er trukket fra' in page
    assert 'name="step" value="3"> Kaffen er sat over' in page
    assert 'name="step" value="1"' not in page and "Har du sovet godt?" in page
    await call(client, "POST", "/api/me/language", {"language": "en"})
    page = await (await client.get(f"/call/{citizen_id}?visit={visit_id}")).text()
    assert "Good morning, Inger!" in page and 'value="3"> Coffee is on' in page
    assert "Godmorgen, Inger" not in page
    # Blood sugar keeps its mmol/l field; a call without a visit shows the general script.
    visit_id = visits["Jens"]
    citizen_id = await db_scalar(demo, select(Visit.citizen_id).where(Visit.id == visit_id))
    await login(client, "bo")
    page = await (await client.get(f"/call/{citizen_id}?visit={visit_id}")).text()
    assert 'name="blood_sugar"' in page and DEFAULTS["blood_sugar"].intro.da in page
    page = await (await client.get(f"/call/{citizen_id}")).text()
    assert GENERAL.intro.da in page and 'name="blood_sugar"' not in page


async def test_guides_demo_reseed_adds_missing_visit_types(demo: Settings) -> None:
    """Seeding an existing demo again adds visit types it lacks, once, and changes nothing else."""
    engine = make_engine(demo.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine).begin() as session:
            await session.execute(delete(VisitType).where(VisitType.code == "visitation_meeting"))
    finally:
        await engine.dispose()
    assert not await seed_demo(demo)
    assert not await seed_demo(demo)
    codes = await db_scalar(demo, select(func.count(VisitType.id)))
    assert codes == len(VISIT_TYPES)
