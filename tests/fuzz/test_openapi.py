"""schemathesis against /api/openapi.json, signed in as each role, on SQLite and PostgreSQL.

Cases are drawn from the document (valid ones and, through schemathesis's negative mode,
invalid ones) and each is sent as every role; every answer must be no server error and be as
the document says: a documented status, the declared content type, a body of the schema.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections import Counter
from typing import Any

import requests
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from server.settings import Settings
from tests.authz.identities import IDENTITIES, Session, open_session
from tests.authz.world import load_world, seed_other_organisation
from tests.conftest import ClientFactory, ServerFactory
from tests.fuzz.profile import draw
from tests.fuzz.wire import catching_tracebacks

ROLES = ("anonymous", "nurse-A", "carer-A", "planner", "visitator", "admin-X", "admin")
VALID, INVALID = 1, 1  # cases per operation and mode; each is sent as every role
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def test_openapi_document_holds_for_every_role(
    fuzz_settings: Settings, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    """No server error, and every response as the OpenAPI document declares it."""
    await seed_other_organisation(fuzz_settings)
    world = await load_world(fuzz_settings)
    server = await aiohttp_server(create_app(fuzz_settings))
    sessions = [
        await open_session(await aiohttp_client(server), who, world.kiosk_token)
        for who in IDENTITIES
        if who.name in ROLES
    ]
    document = await (await sessions[0].client.get("/api/openapi.json")).json()
    base_url = str(server.make_url("")).rstrip("/")
    roles = [_credentials(session) for session in sessions]
    started = time.monotonic()
    with catching_tracebacks() as caught:
        sent, failures = await asyncio.to_thread(_run, document, base_url, roles)
    print(
        f"schemathesis: {sum(sent.values())} requests ({len(sent)} operations × "
        f"{len(roles)} roles) in {time.monotonic() - started:.1f} s"
    )
    assert failures == [], "\n".join(failures)
    assert caught.summary() == []


Credentials = tuple[str, dict[str, str], dict[str, str]]


def _credentials(session: Session) -> Credentials:
    """(name, headers, cookies) of a signed-in client, for a client outside aiohttp."""
    client = session.client
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    cookies = {name: morsel.value for name, morsel in jar.items()}
    return session.identity.name, dict(session.headers), cookies


def _run(
    document: dict[str, Any], base_url: str, roles: list[Credentials]
) -> tuple[Counter[str], list[str]]:
    """Send every drawn case as every role, each role on its own kept-alive connection (runs
    in a thread, beside the server's loop)."""
    sent: Counter[str] = Counter()
    failures: list[str] = []
    clients = [(name, headers, _client(cookies)) for name, headers, cookies in roles]
    try:
        for case in _cases(json.dumps(document, sort_keys=True)):
            for name, headers, client in clients:
                sent[case.operation.label] += 1
                failures += _check(case, name, base_url, headers, client)
    finally:
        for _, _, client in clients:
            client.close()
    return sent, failures


@functools.cache
def _cases(document: str) -> list[Case[Any]]:
    """Cases for every operation, drawn once for both backends (the document is the same)."""
    drawn: list[Case[Any]] = []
    for result in from_dict(json.loads(document)).get_all_operations():
        assert isinstance(result, Ok), result  # the document is valid OpenAPI 3.1
        operation = result.ok()
        drawn += draw(operation.as_strategy(), VALID)
        drawn += draw(operation.as_strategy(GenerationMode.NEGATIVE), INVALID)
    return drawn


def _client(cookies: dict[str, str]) -> requests.Session:
    client = requests.Session()
    client.cookies.update(cookies)
    return client


def _check(
    case: Case[Any], name: str, base_url: str, headers: dict[str, str], client: requests.Session
) -> list[str]:
    response = case.call(base_url=base_url, headers=headers, session=client)
    try:
        case.validate_response(response, checks=CHECKS)
    except AssertionError as failed:  # one check failed
        return [f"{case.operation.label} as {name} ({response.status_code}): {failed}"[:800]]
    except BaseExceptionGroup as failed:  # several (schemathesis's FailureGroup)
        return [
            f"{case.operation.label} as {name} ({response.status_code}): {one}"[:800]
            for one in failed.exceptions
        ]
    return []
