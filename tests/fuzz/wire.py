"""Send fuzzed sessions to the real server and judge what comes back (tests and bench alike).

What must hold for any input: no `internal_error` and no close 1011; every error code and close
code is one PROTOCOL.md documents (read from the document, so code and document cannot drift
apart unnoticed); nothing is logged with a traceback above DEBUG; and once the sockets are gone
the live registries (hub peers, the call book, the hub's timers and tasks, the lobby, the
app's socket set) are empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.keys import book_key, websockets_key
from server.meetings.lobby import LocalLobby
from server.rooms.local_book import LocalBook
from server.settings import Settings
from server.signaling import hub_key
from server.signaling.messages import MAX_CORRELATION_ID
from tests.authz.identities import IDENTITIES, open_session
from tests.authz.identities import Session as Login
from tests.authz.sockets import hello
from tests.authz.world import World, load_world, seed_other_organisation
from tests.conftest import Client
from tests.fuzz.frames import Session, render
from tests.signaling.wsclient import Sock, kiosk_socket, staff_socket

PROTOCOL = Path(__file__).resolve().parents[2] / "server" / "signaling" / "PROTOCOL.md"
NewClient = Callable[[], Awaitable[Client]]
POUL = 1  # demo citizen index 1: Poul, team B (Team Syd), bo's citizen
SYNC_ID = MAX_CORRELATION_ID - 1  # the closing ping of a session: every answer is in by its pong
PACE_S = 1.05  # a little over the server's one-second rate window
REPLY_WAIT_S = 20.0  # generous: a busy CI machine is slow, and a missing pong is a finding


def _section(text: str, title: str) -> str:
    """The body rows of the first table under ``## title`` (header and rule left out)."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else None]
    return section[section.index("\n|---") + 1 :]


def documented_error_codes(text: str | None = None) -> frozenset[str]:
    """The `code`s of PROTOCOL.md's "Errors" table."""
    section = _section(text or PROTOCOL.read_text(), "Errors")
    return frozenset(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))


def documented_close_codes(text: str | None = None) -> frozenset[int]:
    """The codes of PROTOCOL.md's "Close codes" table."""
    section = _section(text or PROTOCOL.read_text(), "Close codes")
    return frozenset(int(code) for code in re.findall(r"^\| (\d{4}) \|", section, re.M))


ERROR_CODES = documented_error_codes()
CLOSE_CODES = documented_close_codes()


@dataclass
class Tally:
    """What a run sent and got back; ``problems`` are broken invariants, each said once."""

    frames: int = 0
    connections: int = 0
    errors_by_code: Counter[str] = field(default_factory=Counter)
    closes_by_code: Counter[int] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)  # upgrades answered with a status
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


class TracebackCatcher(logging.Handler):
    """Keeps every record above DEBUG that carries a traceback (or stack)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.stack_info:
            self.records.append(record)

    def summary(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()[:200]}" for r in self.records]


@contextlib.contextmanager
def catching_tracebacks() -> Iterator[TracebackCatcher]:
    """Catch tracebacks logged at INFO and above anywhere while the block runs."""
    root = logging.getLogger()
    catcher, level = TracebackCatcher(), root.level
    root.addHandler(catcher)
    root.setLevel(logging.INFO)
    try:
        yield catcher
    finally:
        root.removeHandler(catcher)
        root.setLevel(level)


@dataclass
class Stage:
    """The live ids placeholders stand for, and the logged-in identities by name."""

    fill: dict[str, str]
    logins: dict[str, Login]
    world: World


async def run_session(stage: Stage, session: Session, tally: Tally, *, pace: int = 0) -> None:
    """Open one socket as the session says, send its frames, then a ping, and judge every
    answer until the pong (or the server's close). ``pace``: at most that many frames a
    second, so that long sessions stay under the server's message rate and reach handlers."""
    login = stage.logins[session.identity]
    headers = {k: v for k, v in login.headers.items() if k != "Authorization"}
    fill = dict(stage.fill, **{"$SEEN_CALL": "987654", "$ME": "987654"})
    sent: dict[int, str] = {}
    try:
        ws = await login.client.ws_connect("/ws", headers=headers, autoclose=False)
    except aiohttp.WSServerHandshakeError as refused:  # 503: the database is busy just now
        tally.refused[refused.status] += 1
        if refused.status >= 500 and refused.status != 503:
            tally.problem(f"{session.identity}: upgrade answered {refused.status}")
        return
    tally.connections += 1
    reader = asyncio.create_task(_read(ws, fill, sent, tally, session.identity))
    try:
        if session.hello != "none":
            first = session.hello
            if not isinstance(first, dict):
                first = hello(login.identity, stage.world)
            await _send(ws, render(first, fill), sent, tally)
        for number, frame in enumerate(session.frames, start=1):
            if ws.closed or reader.done():
                break
            await _send(ws, render(frame, fill), sent, tally)
            if pace and number % pace == 0:
                await asyncio.sleep(PACE_S)
        if not (ws.closed or reader.done()):
            if pace:  # a fresh rate window: a dropped ping would answer `rate_limited`, no pong
                await asyncio.sleep(PACE_S)
            await _send(ws, json.dumps({"type": "ping", "id": SYNC_ID}), sent, tally)
            async with asyncio.timeout(REPLY_WAIT_S):
                await asyncio.shield(reader)
    except TimeoutError:
        tally.problem(f"{session.identity}: no answer to the closing ping in {REPLY_WAIT_S} s")
    finally:
        await ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            reader.cancel()
            await reader


async def _send(
    ws: aiohttp.ClientWebSocketResponse, data: str | bytes, sent: dict[int, str], tally: Tally
) -> None:
    with contextlib.suppress(ConnectionError, aiohttp.ClientError):
        if isinstance(data, bytes):
            await ws.send_bytes(data)
        else:
            await ws.send_str(data)
            sent[len(sent)] = data
        tally.frames += 1


async def _read(
    ws: aiohttp.ClientWebSocketResponse,
    fill: dict[str, str],
    sent: dict[int, str],
    tally: Tally,
    who: str,
) -> None:
    """Judge every message until the closing pong or a close."""
    while True:
        msg = await ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            data = json.loads(msg.data)
            if data.get("type") == "pong" and data.get("ref") == SYNC_ID:
                return
            _judge(data, fill, sent, tally, who)
            continue
        if msg.type is aiohttp.WSMsgType.CLOSE:
            code = int(msg.data)
            tally.closes_by_code[code] += 1
            if code not in CLOSE_CODES or code == 1011:
                tally.problem(f"{who}: closed {code} after {_last(sent)}")
        elif msg.type is aiohttp.WSMsgType.ERROR:
            tally.problem(f"{who}: broken stream ({msg.data!r}) after {_last(sent)}")
        return


def _judge(
    data: dict[str, Any], fill: dict[str, str], sent: dict[int, str], tally: Tally, who: str
) -> None:
    kind = data.get("type")
    if kind == "welcome":
        fill["$ME"] = str(data["peer_id"])
    elif kind in {"call-state", "ring", "invited"}:
        fill["$SEEN_CALL"] = str(data["call_id"])
    elif kind == "error":
        code = str(data.get("code"))
        tally.errors_by_code[code] += 1
        if code not in ERROR_CODES or code == "internal_error":
            tally.problem(f"{who}: error {code} ({data.get('message')}) after {_last(sent)}")


def _last(sent: dict[int, str]) -> str:
    return repr(sent[len(sent) - 1][:300]) if sent else "nothing"


def leftovers(app: web.Application) -> list[str]:
    """What is still live on the server: should be nothing once every socket is closed."""
    hub, book = app[hub_key], app[book_key]
    found = []
    if hub.peers:
        found.append(f"hub peers: {sorted(hub.peers)}")
    if not isinstance(book, LocalBook) or not book.idle():
        found.append("the call book is not idle")
    if hub.timer_keys:
        found.append(f"hub timers: {sorted(hub.timer_keys)}")
    if isinstance(hub.lobby, LocalLobby) and len(hub.lobby):
        found.append(f"{len(hub.lobby)} guests in the lobby")
    if app[websockets_key]:
        found.append(f"{len(app[websockets_key])} open sockets")
    tasks = [t for t in asyncio.all_tasks() if _is_hub_task(t)]
    if tasks:
        found.append(f"{len(tasks)} hub tasks still running")
    return found


def _is_hub_task(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "") == "Hub._run" and not task.done()


async def settled(app: web.Application, within_s: float = 15.0) -> list[str]:
    """Wait for the registries to empty (grace and ring timers run out); what is left."""
    loop = asyncio.get_running_loop()
    until = loop.time() + within_s
    while (found := leftovers(app)) and loop.time() < until:  # noqa: ASYNC110 - polled state
        await asyncio.sleep(0.1)
    return found


@dataclass
class Held:
    """A live call between a nurse of team B and her citizen's tablet, which no fuzzing
    identity is in: the target of messages for calls one is not in."""

    nurse: Sock
    kiosk: Sock
    call_id: str

    async def end(self) -> None:
        await self.nurse.send(type="hangup", id=1, call_id=self.call_id)
        while (await self.kiosk.next())["type"] != "call-ended":  # the nurse hears nothing
            pass
        await self.nurse.ws.close()
        await self.kiosk.ws.close()


async def build_stage(settings: Settings, new_client: NewClient) -> tuple[Stage, Held]:
    """Seed the second organisation, log every identity of the matrix in, and hold one call."""
    await seed_other_organisation(settings)
    world = await load_world(settings)
    logins = {
        who.name: await open_session(await new_client(), who, world.kiosk_token)
        for who in IDENTITIES
    }
    nurse = await staff_socket(await new_client(), "bo")
    kiosk = await kiosk_socket(await new_client(), settings, POUL)
    await nurse.send(type="ring", id=1, citizen_id=str(world.owners["B"].ids["citizen_id"]))
    call_id = str((await nurse.expect("call-state"))["call_id"])
    await kiosk.expect("ring")
    await kiosk.send(type="accept", id=2, call_id=call_id)
    await nurse.expect("call-state")
    fill = {
        "$CALL": call_id,
        "$CALL_NURSE": nurse.peer_id,
        "$CALL_KIOSK": kiosk.peer_id,
        "$STAFF": str(nurse.welcome["identity"]["id"]),
        "$VISIT": str(world.owners["A"].ids.get("visit_id", 987654)),
        **{f"$CITIZEN_{o}": str(world.owners[o].ids["citizen_id"]) for o in ("A", "B", "X")},
    }
    return Stage(fill, logins, world), Held(nurse, kiosk, call_id)
