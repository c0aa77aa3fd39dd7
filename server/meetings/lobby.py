"""Who waits to be let into which meeting: a register of ids (no sockets), in this process or
shared by the nodes of a cluster in Redis.

A guest's socket enters the lobby right after its ``welcome`` and leaves it when a host admits
or denies it, or when the socket closes. A deny also keeps that invite from knocking again for a
while (``guest_denied_s``), so a turned-away guest cannot keep knocking at the host. The hosts
of a meeting are the staff participants of the live call for its visit; a guest who knocks
before the call starts waits, and the hosts hear the knock when they enter the call.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class GuestPass:
    """What a guest's invite let in: which invite, meeting and citizen, and how it was used."""

    invite_id: int
    visit_id: str
    citizen_id: str
    invited_as: str  # the name on the invite
    kind: str  # relative or guest
    another_device: bool  # the invite was first used on another device


@dataclass(frozen=True, slots=True)
class Waiting:
    """One guest socket waiting in a meeting's lobby."""

    lobby_id: str
    peer_id: str
    name: str  # the name the guest gave
    guest: GuestPass


class Lobby(Protocol):
    """Everyone waiting, by lobby id: in this process, or shared by the nodes (Redis)."""

    async def add(self, waiting: Waiting) -> None:
        """A guest knocks."""

    async def get(self, lobby_id: str) -> Waiting | None:
        """Who waits under this lobby id."""

    async def take(self, lobby_id: str) -> Waiting | None:
        """Remove and return the waiting guest (admitted, denied or gone)."""

    async def of_peer(self, peer_id: str) -> Waiting | None:
        """The lobby entry of a guest socket, if it waits."""

    async def for_visit(self, visit_id: str) -> tuple[Waiting, ...]:
        """Everyone waiting for this meeting, in the order they knocked."""

    async def turn_away(self, invite_id: int, seconds: float) -> None:
        """The host denied this invite's guest: it may not knock again for ``seconds``."""

    async def turned_away(self, invite_id: int) -> bool:
        """True while a deny of this invite holds."""


class LocalLobby:
    """Everyone waiting in this process."""

    def __init__(self) -> None:
        self._waiting: dict[str, Waiting] = {}
        self._denied: dict[int, float] = {}  # invite id → until (monotonic clock)

    def __len__(self) -> int:
        return len(self._waiting)

    async def add(self, waiting: Waiting) -> None:
        """A guest knocks."""
        self._waiting[waiting.lobby_id] = waiting

    async def get(self, lobby_id: str) -> Waiting | None:
        """Who waits under this lobby id."""
        return self._waiting.get(lobby_id)

    async def take(self, lobby_id: str) -> Waiting | None:
        """Remove and return the waiting guest."""
        return self._waiting.pop(lobby_id, None)

    async def of_peer(self, peer_id: str) -> Waiting | None:
        """The lobby entry of a guest socket."""
        return next((w for w in self._waiting.values() if w.peer_id == peer_id), None)

    async def for_visit(self, visit_id: str) -> tuple[Waiting, ...]:
        """Everyone waiting for this meeting, in the order they knocked."""
        return tuple(w for w in self._waiting.values() if w.guest.visit_id == visit_id)

    async def turn_away(self, invite_id: int, seconds: float) -> None:
        """The host denied this invite's guest: it may not knock again for ``seconds``."""
        now = time.monotonic()
        self._denied = {i: t for i, t in self._denied.items() if t > now}  # forget old ones
        self._denied[invite_id] = now + seconds

    async def turned_away(self, invite_id: int) -> bool:
        """True while a deny of this invite holds."""
        return self._denied.get(invite_id, 0.0) > time.monotonic()


LOBBY_KEY = "sv:lobby"  # lobby id → the waiting guest (JSON), in knocking order by its field
DENIED_KEY = "sv:lobby:denied:"  # + invite id: set while a host's deny holds (expires)


class SharedLobby:
    """Everyone waiting on any node, in Redis (a guest on one node, its host on another)."""

    def __init__(self, redis: Any) -> None:  # Any: redis-py's types ignore decode_responses
        self._redis = redis

    async def add(self, waiting: Waiting) -> None:
        """A guest knocks."""
        data = {**asdict(waiting), "at": time.time()}
        await self._redis.hset(LOBBY_KEY, waiting.lobby_id, json.dumps(data))

    async def get(self, lobby_id: str) -> Waiting | None:
        """Who waits under this lobby id."""
        raw = await self._redis.hget(LOBBY_KEY, lobby_id)
        return None if raw is None else _waiting(json.loads(raw))

    async def take(self, lobby_id: str) -> Waiting | None:
        """Remove and return the waiting guest (only one taker wins)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hget(LOBBY_KEY, lobby_id)
        pipe.hdel(LOBBY_KEY, lobby_id)
        raw, removed = await pipe.execute()
        return _waiting(json.loads(raw)) if raw is not None and removed else None

    async def of_peer(self, peer_id: str) -> Waiting | None:
        """The lobby entry of a guest socket."""
        return next((w for w in await self._all() if w.peer_id == peer_id), None)

    async def for_visit(self, visit_id: str) -> tuple[Waiting, ...]:
        """Everyone waiting for this meeting, in the order they knocked."""
        return tuple(w for w in await self._all() if w.guest.visit_id == visit_id)

    async def turn_away(self, invite_id: int, seconds: float) -> None:
        """The host denied this invite's guest: it may not knock again for ``seconds``."""
        await self._redis.set(f"{DENIED_KEY}{invite_id}", "1", px=max(1, int(seconds * 1000)))

    async def turned_away(self, invite_id: int) -> bool:
        """True while a deny of this invite holds (on any node)."""
        return bool(await self._redis.exists(f"{DENIED_KEY}{invite_id}"))

    async def _all(self) -> list[Waiting]:
        entries = [json.loads(raw) for raw in (await self._redis.hgetall(LOBBY_KEY)).values()]
        return [_waiting(e) for e in sorted(entries, key=lambda e: float(e["at"]))]


def _waiting(data: dict[str, Any]) -> Waiting:
    return Waiting(data["lobby_id"], data["peer_id"], data["name"], GuestPass(**data["guest"]))
