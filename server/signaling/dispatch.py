"""Typed dispatch: one handler per client message class, checked by mypy when registered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from .hub import Hub
from .peer import Peer

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Hub, Peer, M], Awaitable[None]]


class HandlerTable:
    """Which handler answers which message class (``tests/signaling`` checks it is complete)."""

    def __init__(self) -> None:
        self._handlers: dict[type[BaseModel], Callable[[Hub, Peer, Any], Awaitable[None]]] = {}

    def add(self, message: type[M], handler: Handler[M]) -> HandlerTable:
        """Register the one handler of ``message``; a second one is a programming error."""
        if message in self._handlers:
            raise ValueError(f"{message.__name__} already has a handler")
        self._handlers[message] = handler
        return self

    @property
    def messages(self) -> frozenset[type[BaseModel]]:
        """The message classes that have a handler."""
        return frozenset(self._handlers)

    async def dispatch(self, hub: Hub, peer: Peer, message: BaseModel) -> None:
        """Run the handler of the message's class (KeyError when there is none)."""
        await self._handlers[type(message)](hub, peer, message)
