"""Who waits to be let into which meeting: a pure, in-process register of ids (no sockets).

A guest's socket enters the lobby right after its ``welcome`` and leaves it when a host admits
or denies it, or when the socket closes. The hosts of a meeting are the staff participants of
the live call for its visit; a guest who knocks before the call starts waits, and the hosts
hear the knock when they enter the call.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class Lobby:
    """Everyone waiting in this process, by lobby id."""

    def __init__(self) -> None:
        self._waiting: dict[str, Waiting] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, waiting: Waiting) -> None:
        """A guest knocks."""
        self._waiting[waiting.lobby_id] = waiting

    def get(self, lobby_id: str) -> Waiting | None:
        """Who waits under this lobby id."""
        return self._waiting.get(lobby_id)

    def take(self, lobby_id: str) -> Waiting | None:
        """Remove and return the waiting guest (admitted, denied or gone)."""
        return self._waiting.pop(lobby_id, None)

    def of_peer(self, peer_id: str) -> Waiting | None:
        """The lobby entry of a guest socket, if it waits."""
        return next((w for w in self._waiting.values() if w.peer_id == peer_id), None)

    def for_visit(self, visit_id: str) -> tuple[Waiting, ...]:
        """Everyone waiting for this meeting, in the order they knocked."""
        return tuple(w for w in self._waiting.values() if w.guest.visit_id == visit_id)
