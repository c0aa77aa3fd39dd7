"""The WebSocket half of the matrix: every client message type as every identity."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.authz.identities import Identity, Session
from tests.authz.table import GUEST, MESSAGES, TABLET
from tests.authz.world import CALL_LINK_TOKEN, MISSING, World

UNKNOWN = str(MISSING)  # ids are strings on the wire
DENIED_CODES = frozenset({"forbidden", "not_authenticated"})
# About a call that does not exist, the server may answer before it asks who is asking: such an
# answer proves neither (PROTOCOL.md: a relative's `remove` gets `not_member`, not `forbidden`).
INCONCLUSIVE = frozenset({"unknown_call", "not_member", "unknown_peer"})
REPLY_TIMEOUT_S = 1.0

# A well-formed instance of every message type, about no call that exists.
SAMPLES: dict[str, dict[str, Any]] = {
    "ping": {},
    "accept": {"call_id": UNKNOWN},
    "decline": {"call_id": UNKNOWN},
    "cancel": {"call_id": UNKNOWN},
    "invite": {"call_id": UNKNOWN, "user_id": UNKNOWN},
    "offer": {"call_id": UNKNOWN, "to": UNKNOWN, "sdp": "v=0"},
    "answer": {"call_id": UNKNOWN, "to": UNKNOWN, "sdp": "v=0"},
    "candidate": {"call_id": UNKNOWN, "to": UNKNOWN, "candidate": None},
    "hangup": {"call_id": UNKNOWN},
    "device-state": {"sound": True, "camera": True, "microphone": True},
    "admit": {"lobby_id": UNKNOWN},
    "deny": {"lobby_id": UNKNOWN},
    "remove": {"call_id": UNKNOWN, "peer_id": UNKNOWN},
}
# Messages about a citizen: sent once per owner, like the HTTP routes' object ids.
ABOUT_CITIZEN = ("ring", "presence-subscribe")


def hello(identity: Identity, world: World) -> dict[str, Any]:
    """The identity's first message: its credentials, if it has any beyond a cookie."""
    message: dict[str, Any] = {"type": "hello", "id": 1, "version": ["1"]}
    if identity.kind == TABLET:
        message["token"] = world.kiosk_token
    elif identity.kind == GUEST:
        message["link"] = CALL_LINK_TOKEN
    return message


async def reply_to(ws: aiohttp.ClientWebSocketResponse, ref: int) -> dict[str, Any] | None:
    """The server's answer to message ``ref`` (None: it answered nothing, or closed)."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    return None
                data: dict[str, Any] = json.loads(frame.data)
                if data.get("ref") == ref:
                    return data
    except TimeoutError:
        return None
    return None


def _code(answer: dict[str, Any] | None, ws: aiohttp.ClientWebSocketResponse) -> str:
    if answer is None:
        return f"closed {ws.close_code}" if ws.closed else "no answer"
    code = str(answer.get("code") or answer.get("type"))
    if code in {"forbidden", "invalid_message"}:
        return f"{code}: {answer.get('message')}"
    return code


async def walk_messages(session: Session, world: World) -> list[str]:
    """Send every message type as this identity; the mismatches with MESSAGES.

    A socket the server closes (a refused hello) is opened again for the next message, so
    every type is judged on its own."""
    identity = session.identity
    sends: list[tuple[str, str, dict[str, Any]]] = [("hello", "-", {})]
    sends += [(t, "-", body) for t, body in SAMPLES.items()]
    for owner in ("A", "B", "X", "missing"):
        objects = world.owners.get(owner)
        citizen = str(objects.ids["citizen_id"]) if objects else UNKNOWN
        sends.append(("presence-subscribe", owner, {"citizen_ids": [citizen]}))
        sends.append(("ring", owner, {"citizen_id": citizen}))
    problems: list[str] = []
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        for ref, (kind, owner, body) in enumerate(sends, start=2):
            if ws is None or ws.closed:
                ws, hello_code = await _connect(session, world)
            if kind == "hello":
                code = hello_code
            else:
                await ws.send_json({"type": kind, "id": ref, **body})
                answer = await reply_to(ws, ref)
                code = _code(answer, ws)
                if kind == "presence-subscribe" and answer is not None:
                    code = _presence(answer, body["citizen_ids"][0])
            # An unknown citizen is refused (ring) or left out (presence) like a foreign one.
            visible = owner == "-" or owner in identity.sees
            expected = identity.kind in MESSAGES[kind] and visible
            problems += _judge(kind, identity, owner, expected, code)
    finally:
        if ws is not None:
            await ws.close()
    return problems


async def _connect(session: Session, world: World) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    headers = {k: v for k, v in session.headers.items() if k != "Authorization"}
    ws = await session.client.ws_connect("/ws", headers=headers)
    await ws.send_json(hello(session.identity, world))
    return ws, _code(await reply_to(ws, 1), ws)


def _presence(answer: dict[str, Any], citizen_id: str) -> str:
    """A subscription to citizens the socket may not see is narrowed to nothing, silently."""
    listed = {str(entry.get("citizen_id")) for entry in answer.get("entries", [])}
    return "presence" if citizen_id in listed else "forbidden: left out of the snapshot"


def _judge(kind: str, identity: Identity, owner: str, allowed: bool, code: str) -> list[str]:
    if code in INCONCLUSIVE:
        return []
    denied = code.split(":")[0] in DENIED_CODES or code.startswith("closed")
    if allowed == (not denied):
        return []
    want = "allowed" if allowed else "denied"
    return [f"ws {kind} as {identity.name} (owner {owner}): expected {want}, got {code}"]
