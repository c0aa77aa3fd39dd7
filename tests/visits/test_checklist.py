"""The medication checklist of the call view, stored with the outcome over the real JSON API."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.settings import Settings
from tests.conftest import Client, ClientFactory, login
from tests.console.seed import seed_today

STEPS = [
    {"step": 1, "text": "Doseringsæsken er klar", "confirmed": True},
    {"step": 2, "text": "Tabletterne bliver taget", "confirmed": False},
]


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Outcome writes: every test runs on SQLite and PostgreSQL."""
    return both_backends


@pytest.fixture
async def nurse(aiohttp_client: ClientFactory, demo: Settings) -> Client:
    """Anna (Team Nord nurse), logged in to the real server."""
    server: TestServer = TestServer(create_app(demo))
    client: Client = await aiohttp_client(server)
    assert await login(client, "anna") == 303
    return client


async def post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST JSON with the session's CSRF token."""
    me = await (await client.get("/api/me")).json()
    response = await client.post(path, json=body, headers={"X-CSRF-Token": me["csrf_token"]})
    return response.status, await response.json()


async def test_checklist_is_stored_with_the_outcome_and_shown(
    nurse: Client, demo: Settings
) -> None:
    """Every step shown is stored (confirmed or not), in the API and on the citizen page."""
    visit = (await seed_today(demo))["Karen"]
    body = {"kind": "completed", "checklist": list(reversed(STEPS))}
    status, saved = await post(nurse, f"/api/visits/{visit}/outcome", body)
    assert status == 201, saved
    assert saved["checklist"] == STEPS  # by step number
    history = await (await nurse.get(f"/api/visits/{visit}/outcomes")).json()
    assert history["outcomes"][0]["checklist"] == STEPS
    page = await (await nurse.get("/citizens/1")).text()
    assert "Tjekliste: 1 af 2 trin bekræftet" in page and "Tabletterne bliver taget" in page


async def test_checklist_survives_a_correction_without_one(nurse: Client, demo: Settings) -> None:
    """An edit or amendment that sends no checklist keeps the one recorded with the call."""
    visit = (await seed_today(demo))["Karen"]
    _, saved = await post(
        nurse, f"/api/visits/{visit}/outcome", {"kind": "completed", "checklist": STEPS}
    )
    status, edited = await post(
        nurse, f"/api/outcomes/{saved['id']}/edit", {"kind": "partly_completed", "reason": "Træt"}
    )
    assert status == 200 and edited["checklist"] == STEPS
    status, amended = await post(
        nurse, f"/api/outcomes/{saved['id']}/amend", {"kind": "completed", "checklist": STEPS[:1]}
    )
    assert status == 201 and amended["checklist"] == STEPS[:1]


@pytest.mark.parametrize(
    ("checklist", "code"),
    [
        ([], "invalid_checklist"),
        ([STEPS[0], STEPS[0]], "invalid_checklist"),
        ([{"step": 1, "text": "   ", "confirmed": True}], "invalid_checklist"),
        ([{"step": 0, "text": "x", "confirmed": True}], "invalid_input"),
        ([{"step": 1, "text": "x" * 301, "confirmed": True}], "invalid_input"),
        ([{"step": n, "text": "x", "confirmed": True} for n in range(1, 22)], "invalid_input"),
        ([{"step": 1, "text": "x"}], "invalid_input"),
    ],
)
async def test_checklist_bad_input_is_refused_and_nothing_written(
    nurse: Client, demo: Settings, checklist: list[dict[str, Any]], code: str
) -> None:
    """Empty, repeated, blank, unnumbered, too long or too many steps: a clear 400, no outcome."""
    visit = (await seed_today(demo))["Karen"]
    body = {"kind": "completed", "checklist": checklist}
    status, reply = await post(nurse, f"/api/visits/{visit}/outcome", body)
    assert (status, reply["error"]["code"]) == (400, code)
    history = await (await nurse.get(f"/api/visits/{visit}/outcomes")).json()
    assert history["outcomes"] == [] and history["status"] != "done"
