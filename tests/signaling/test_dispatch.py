"""Typed dispatch: every client message has exactly one handler, and every handler a message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from server.signaling import messages as m
from server.signaling.dispatch import HandlerTable
from server.signaling.handler import HANDLERS
from server.signaling.hub import Hub
from server.signaling.peer import Peer

PROTOCOL = Path(m.__file__).with_name("PROTOCOL.md")


def client_message_classes() -> set[type[BaseModel]]:
    """The classes of the client → server union."""
    union = get_args(m.ClientMessage)[0]
    return set(get_args(union))


def documented_client_types() -> set[str]:
    """The `type`s in PROTOCOL.md's client → server table."""
    text = PROTOCOL.read_text(encoding="utf-8")
    table = text.split("### Client → server", 1)[1].split("###", 1)[0]
    return set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.MULTILINE)) - {"type"}


def tag(message: type[BaseModel]) -> str:
    """A message class's `type` literal."""
    return str(message.model_fields["type"].default)


def test_dispatch_every_client_message_has_one_handler() -> None:
    """All client messages but `hello` (the handshake reads it) are dispatched."""
    assert HANDLERS.messages == client_message_classes() - {m.Hello}


def test_dispatch_every_handler_answers_a_documented_message() -> None:
    """Each dispatched message is one the protocol document lists as client → server."""
    assert {tag(message) for message in HANDLERS.messages} <= documented_client_types()
    assert documented_client_types() == {tag(c) for c in client_message_classes()}


def test_dispatch_refuses_a_second_handler() -> None:
    """Registering a message twice is a programming error, found at start-up."""

    async def first(hub: Hub, peer: Peer, msg: m.Ping) -> None:
        """One handler."""

    table = HandlerTable().add(m.Ping, first)
    with pytest.raises(ValueError, match="Ping"):
        table.add(m.Ping, first)
