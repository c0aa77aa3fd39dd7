"""A thin test client for the signalling socket: send dicts, await message types."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.conftest import Client, login

# Unsolicited messages that may interleave with any exchange.
NOTIFICATIONS = frozenset({"presence", "visit-updated", "alert", "inbox-changed"})


@dataclass
class Sock:
    """One signalling socket in a test."""

    ws: ClientWebSocketResponse
    welcome: dict[str, Any]

    @property
    def peer_id(self) -> str:
        """The server-assigned peer id."""
        return str(self.welcome["peer_id"])

    async def send(self, **message: Any) -> None:
        """Send one message."""
        await self.ws.send_json(message)

    async def next(self, wait_s: float = 5.0) -> dict[str, Any]:
        """The next message, whatever it is."""
        msg = await self.ws.receive(timeout=wait_s)
        assert msg.type is WSMsgType.TEXT, f"expected text, got {msg.type} {msg.extra}"
        data: dict[str, Any] = msg.json()
        return data

    async def expect(self, type_: str, wait_s: float = 5.0) -> dict[str, Any]:
        """Skip notifications (presence, list updates) until a message of ``type_`` arrives."""
        while True:
            data = await self.next(wait_s)
            if data["type"] == type_:
                return data
            assert data["type"] in NOTIFICATIONS, f"expected {type_}, got {data}"

    async def closed_with(self, wait_s: float = 5.0) -> int | None:
        """Read until the socket closes; its close code."""
        async with asyncio.timeout(wait_s):
            while True:
                msg = await self.ws.receive()
                if msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}:
                    return self.ws.close_code


async def open_socket(client: Client, hello: dict[str, Any] | None = None) -> Sock:
    """Connect and say hello; the welcome must come back."""
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "id": 1, "version": ["1"], **(hello or {})})
    msg = await ws.receive(timeout=5)
    data = msg.json()
    assert data["type"] == "welcome", data
    return Sock(ws, data)


async def staff_socket(client: Client, username: str) -> Sock:
    """A staff member's socket (logged in through the real form)."""
    assert await login(client, username) == 303
    return await open_socket(client)


async def kiosk_socket(client: Client, settings: Settings, citizen_index: int) -> Sock:
    """The demo kiosk of citizen number ``citizen_index`` (0-based; Team Nord when even)."""
    return await open_socket(client, {"token": demo_kiosk_token(settings, citizen_index)})
