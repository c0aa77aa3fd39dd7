"""Hypothesis-made JSON bodies for every POST and PUT route, as three signed-in roles."""

from __future__ import annotations

import functools
import json
import time

from server.api.models import ErrorResponse
from server.app import create_app
from server.settings import Settings
from tests.authz.identities import IDENTITIES, Session, open_session
from tests.authz.world import load_world, seed_other_organisation
from tests.conftest import ClientFactory, ServerFactory
from tests.fuzz.bodies import Route, body_routes, cases, fill_path
from tests.fuzz.wire import catching_tracebacks

PER_ROUTE = 2
AS = ("admin", "nurse-A", "planner")


async def test_fuzzed_bodies_get_no_500_and_stable_errors(
    fuzz_settings: Settings, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    """Every answer is below 500; every error has the shape {"error": {"code", "message"}}."""
    await seed_other_organisation(fuzz_settings)
    world = await load_world(fuzz_settings)
    server = await aiohttp_server(create_app(fuzz_settings))
    sessions = [
        await open_session(await aiohttp_client(server), who, world.kiosk_token)
        for who in IDENTITIES
        if who.name in AS
    ]
    document = await (await sessions[0].client.get("/api/openapi.json")).json()
    drawn = _cases(json.dumps(document, sort_keys=True))
    problems: list[str] = []
    started = time.monotonic()
    with catching_tracebacks() as caught:
        for session in sessions:
            for route, text in drawn:
                problems += await _send(session, route, fill_path(route.path, world), text)
    print(
        f"fuzz bodies: {len(drawn) * len(sessions)} requests in {time.monotonic() - started:.1f} s"
    )
    assert problems == []
    assert caught.summary() == []


@functools.cache
def _cases(document: str) -> list[tuple[Route, str]]:
    """Drawn once for both backends (the document is the same)."""
    return cases(body_routes(json.loads(document)), PER_ROUTE)


async def _send(session: Session, route: Route, path: str, text: str) -> list[str]:
    headers = {**session.headers, "Content-Type": "application/json"}
    async with session.client.request(route.method, path, data=text, headers=headers) as response:
        raw = await response.read()
        label = f"{route.method} {path} as {session.identity.name} with {text[:200]!r}"
        if response.status >= 500:
            return [f"{label}: {response.status}"]
        if response.status >= 400:
            try:
                ErrorResponse.model_validate_json(raw)
            except ValueError:
                return [f"{label}: {response.status} without the error shape: {raw[:200]!r}"]
    return []
