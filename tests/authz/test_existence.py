"""Ids that exist elsewhere answer like ids that do not exist at all (found by the matrix)."""

from __future__ import annotations

from server.settings import Settings
from tests.authz.world import MISSING, load_world, seed_other_organisation
from tests.conftest import Client, login


async def test_another_organisations_citizen_looks_like_no_citizen(
    client: Client, demo: Settings
) -> None:
    """A nurse of the other organisation gets the same 404 for Karen as for an unknown id."""
    await seed_other_organisation(demo)
    world = await load_world(demo)
    karen = world.owners["A"].ids
    assert await login(client, "nina") == 303
    for path in ("/api/citizens/{}", "/api/citizens/{}/overview"):
        known = await client.get(path.format(karen["citizen_id"]))
        unknown = await client.get(path.format(MISSING))
        assert (known.status, await known.json()) == (unknown.status, await unknown.json())
        assert known.status == 404
    for path in (f"/api/visits/{karen['visit_id']}/outcomes", f"/api/plans/{karen['plan_id']}"):
        assert (await client.get(path)).status == 404


async def test_a_stranger_cannot_tell_which_plan_visit_or_relative_ids_exist(
    client: Client, demo: Settings
) -> None:
    """Without a staff session, an existing plan, visit or relative id answers 401 like an
    unknown one (the lookup used to come first: 401 for a real id, 404 for a made-up one)."""
    await seed_other_organisation(demo)
    world = await load_world(demo)
    karen = world.owners["A"].ids
    page = await client.get("/login")
    assert page.status == 200
    csrf = {c.key: c.value for c in client.session.cookie_jar}["sv_csrf"]
    probes = [
        ("GET", "/api/plans/{}", "plan_id"),
        ("GET", "/api/plans/{}/history", "plan_id"),
        ("GET", "/api/visits/{}/outcomes", "visit_id"),
        ("POST", "/api/relatives/{}/remove", "relative_id"),
    ]
    for method, path, name in probes:
        statuses = []
        for value in (karen[name], MISSING):
            response = await client.request(
                method, path.format(value), json={}, headers={"X-CSRF-Token": csrf}
            )
            statuses.append(response.status)
        assert statuses == [401, 401], path
