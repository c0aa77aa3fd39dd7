"""One walk of the authorization matrix (tests/authz/table.py) against the running server."""

from __future__ import annotations

import asyncio
import time
import typing
from collections import Counter

from server.app import create_app
from server.settings import Settings
from server.signaling.messages import ClientMessage
from tests.authz import sockets, walk
from tests.authz.identities import IDENTITIES, Session, open_session
from tests.authz.table import MESSAGES, ROUTES
from tests.authz.walk import Cell
from tests.authz.world import World, load_world, seed_other_organisation
from tests.conftest import ClientFactory, ServerFactory


def test_every_route_is_in_the_table(settings: Settings) -> None:
    """A route the app serves but the table does not list (or the reverse) fails the matrix."""
    served = walk.app_routes(create_app(settings))
    assert sorted(served - ROUTES.keys()) == [], "routes missing from tests/authz/table.py"
    assert sorted(ROUTES.keys() - served) == [], "table rows for routes that no longer exist"


def test_every_message_type_is_in_the_table() -> None:
    """Every client message type of the protocol has a row in MESSAGES."""
    union = typing.get_args(typing.get_args(ClientMessage)[0])
    types = {model.model_fields["type"].default for model in union}
    assert types == set(MESSAGES)


async def test_matrix(
    demo: Settings, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    """Every route and message type as every identity and owner answers as the table says;
    another organisation's existing ids answer exactly like ids that do not exist."""
    started = time.monotonic()
    await seed_other_organisation(demo)
    world = await load_world(demo)
    server = await aiohttp_server(create_app(demo))
    sessions = [
        await open_session(await aiohttp_client(server), who, world.kiosk_token)
        for who in IDENTITIES
    ]
    answers: dict[Cell, int] = {}
    # Sockets first: the HTTP walk's wrong link tokens throttle the relative's address.
    problems = []
    for session in sessions:
        problems += await sockets.walk_messages(session, world)
    problems += await _walk_http(sessions, world, answers, last=False)
    problems += await _walk_http(sessions, world, answers, last=True)
    problems += _existence_leaks(answers)
    elapsed = time.monotonic() - started
    unverified = sum(1 for c, s in answers.items() if not c.allowed and s in walk.INPUT_REFUSED)
    print(f"authz matrix: {len(answers)} requests in {elapsed:.1f} s, {_tally(answers)}")
    print(f"authz matrix: {unverified} denied cells answered 400/415/422 (body checked first)")
    assert problems == [], "\n" + "\n".join(problems)


async def _walk_http(
    sessions: list[Session], world: World, answers: dict[Cell, int], *, last: bool
) -> list[str]:
    # One identity's requests in order, identities side by side; the last rows (logout,
    # revocations, removals, a new user) one identity after another, so that who comes first
    # does not decide the answers.
    if last:
        return [p for s in sessions for p in await _walk_one(s, world, answers, last=True)]
    found = await asyncio.gather(*(_walk_one(s, world, answers, last=False) for s in sessions))
    return [problem for problems in found for problem in problems]


async def _walk_one(
    session: Session, world: World, answers: dict[Cell, int], *, last: bool
) -> list[str]:
    problems = []
    for cell in walk.cells(world, session.identity, last=last):
        status, location = await walk.send(session, cell)
        answers[cell] = status
        wrong = walk.verdict(cell, status, location)
        if wrong is not None:
            problems.append(f"{cell.label()}: {wrong}")
    return problems


def _existence_leaks(answers: dict[Cell, int]) -> list[str]:
    """Another organisation's object must answer exactly like an id that does not exist, and
    so must any object to a client that is not signed in as staff."""
    by_key = {(c.method, c.pattern, c.identity, c.owner): s for c, s in answers.items()}
    problems = set()
    for (method, pattern, who, owner), status in by_key.items():
        if owner in {"-", "missing"}:
            continue
        # Signed-in staff: another organisation's objects; everyone else: any object at all.
        if who.username is not None and _org(owner) == _org(*who.sees):
            continue
        unknown = by_key.get((method, pattern, who, "missing"))
        if unknown is not None and unknown != status:
            problems.add(
                f"{method} {pattern} as {who.name}: an existing id of owner {owner} answers "
                f"{status}, an unknown id {unknown}"
            )
    return sorted(problems)


def _org(owner: str, *_: str) -> str:
    return "other" if owner == "X" else "demo"


def _tally(answers: dict[Cell, int]) -> str:
    counts = Counter(answers.values())
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
