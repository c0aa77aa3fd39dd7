"""Ids past what the database can hold are not found, on every route and on both backends."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from server.bounds import MAX_ID, out_of_range
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.console.seed import seed_today

NUMERIC = re.compile(r"\(\?P<(\w+)>\\d\+\)")


@pytest.fixture
def db_url(both_backends: str) -> str:
    return both_backends


def numeric_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path with each numeric id as ID) of every route that takes one."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        numeric = NUMERIC.findall(info["pattern"].pattern) if "pattern" in info else []
        if route.method in {"HEAD", "*"} or not numeric:
            continue
        path = info["formatter"]
        for name in numeric:
            path = path.replace("{" + name + "}", "ID")
        found.add((route.method, re.sub(r"\{\w+\}", "x", path)))  # other parameters: any text
    return sorted(found)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", False), (str(MAX_ID), False), (str(MAX_ID + 1), True), ("9" * 40, True), ("x1", False)],
)
def test_out_of_range(value: str, expected: bool) -> None:
    assert out_of_range(value) is expected


async def test_every_numeric_route_answers_404_for_an_id_past_the_range(
    client: Client, demo: Settings
) -> None:
    assert await login(client, "admin") == 303
    headers = await csrf(client)
    routes = numeric_routes(client.app)
    assert len(routes) > 20, routes  # the table really lists the app's routes
    for method, template in routes:
        for huge in (MAX_ID + 1, 2**63):
            path = template.replace("ID", str(huge))
            response = await client.request(
                method, path, headers={**headers, "Accept": "application/json"}, json={}
            )
            assert response.status == 404, f"{method} {path}: {response.status}"
            assert (await response.json())["error"]["code"] == "not_found"


async def test_a_nul_character_is_invalid_input_on_both_backends(
    client: Client, demo: Settings
) -> None:
    """PostgreSQL cannot store NUL: in a query or a JSON body it is refused the same on both."""
    outcome = f"/api/visits/{(await seed_today(demo))['Karen']}/outcome"
    assert await login(client, "anna") == 303
    headers = {**(await csrf(client)), "Accept": "application/json"}
    searched = await client.get("/api/citizens", params={"q": "Kar\x00en"}, headers=headers)
    assert searched.status == 400 and (await searched.json())["error"]["code"] == "invalid_input"
    body = {"kind": "completed", "note": "Glad\x00 i dag"}
    recorded = await client.post(outcome, json=body, headers=headers)
    assert recorded.status == 400 and (await recorded.json())["error"]["code"] == "invalid_input"
    body["note"] = "Glad i dag"  # nothing was half-written: the clean body goes through
    recorded = await client.post(outcome, json=body, headers=headers)
    assert recorded.status == 201


async def test_numbers_and_dates_no_column_can_hold_are_invalid_input(
    client: Client, demo: Settings
) -> None:
    """A team id past 2^31 - 1, or a plan from the year 9999, is 400 on both backends."""
    assert await login(client, "vera") == 303
    headers = {**(await csrf(client)), "Accept": "application/json"}
    plan = {
        "citizen_id": 1, "visit_type": "reassurance", "team_id": 1, "local_time": "10:00",
        "schedule": {"days": "every_day"}, "valid_from": "2027-03-01",
    }  # fmt: skip
    for change in ({"team_id": MAX_ID + 1}, {"valid_from": "9999-12-31"}):
        response = await client.post("/api/plans", json=plan | change, headers=headers)
        assert response.status == 400, (change, await response.text())
        assert (await response.json())["error"]["code"] == "invalid_input"
    created = await client.post("/api/plans", json=plan, headers=headers)  # the same, sane
    assert created.status == 201, await created.text()
