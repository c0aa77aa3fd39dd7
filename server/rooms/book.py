"""The live-call book: who is connected, who sits in which call, and what we know of each call.

One object owns this state; the signalling handlers ask it and never keep maps of their own.
The interface is asynchronous and speaks only ids and plain values, so it does not assume one
process: ``LocalBook`` keeps it in this process, and a Redis-backed book for several nodes can
implement the same methods. Sockets stay with the signalling hub (``rooms/`` stores ids, never
sockets).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ..identity import StaffIdentity
from ..vocabulary import PeerKind
from .registry import Ended, Left, LiveCall, Participant, Resumed


@dataclass(frozen=True, slots=True)
class PeerProfile:
    """Who authenticated a socket: a staff member (by cookie) or a kiosk (by device token)."""

    kind: PeerKind
    identity_id: str
    name: str
    role: str | None
    org_id: str
    photo_url: str | None = None
    team_ids: frozenset[str] = frozenset()
    citizen_id: str | None = None
    staff: StaffIdentity | None = None
    kiosk_db_id: int | None = None
    relation: str | None = None  # a relative ringing from her call link ("datter")


@dataclass(frozen=True, slots=True)
class Seat:
    """Someone taking a seat in a call: the registry's participant and the face others see."""

    participant: Participant
    profile: PeerProfile

    @property
    def peer_id(self) -> str:
        """The socket's peer id."""
        return self.participant.peer_id


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Facts about a live call that the registry (pure, ids only) does not hold."""

    citizen_db_id: int
    visit_id: int | None
    visit_type: str | None
    camera_off: bool
    auto_answer_after_s: int | None = None  # repeated when a ringing kiosk resumes
    ring_timeout_s: int = 45  # the organisation's choice, fixed when the ring starts


@dataclass(frozen=True, slots=True)
class Over:
    """A call that ended, and what the book knew of it (now forgotten)."""

    ended: Ended
    meta: CallMeta | None


@dataclass(frozen=True, slots=True)
class Departure:
    """Someone left a call; ``meta`` is set when that ended the call."""

    left: Left
    profile: PeerProfile | None
    meta: CallMeta | None = None

    @property
    def over(self) -> Over | None:
        """The end of the call, when the departure ended it."""
        if self.left.ended is None:
            return None
        ended = Ended(self.left.call, self.left.ended, self.left.peer.peer_id)
        return Over(ended, self.meta)


class CallBook(Protocol):
    """Presence and live calls (see the module notes). Call methods raise ``RoomError``s."""

    # -- presence ---------------------------------------------------------------------------

    async def connect(
        self, peer_id: str, profile: PeerProfile, resume_token: str = ""
    ) -> str | None:
        """A socket authenticated; for a kiosk, the peer id of the older socket it replaces.
        (A shared book keeps the resume token, so another node can seat the peer in a call.)"""

    async def disconnect(self, peer_id: str, profile: PeerProfile) -> bool:
        """A socket closed; True when it was the citizen's current kiosk (presence changed)."""

    async def kiosk_peer(self, citizen_id: str) -> str | None:
        """The peer id of the citizen's connected kiosk."""

    async def online_citizens(self, citizen_ids: Iterable[str]) -> set[str]:
        """Those of these citizens whose kiosk is connected."""

    async def staff_tabs(self, staff_id: str) -> tuple[str, ...]:
        """The peer ids of a staff member's open consoles."""

    async def online_staff(self) -> set[str]:
        """The ids of staff members with a console open."""

    async def team_peers(self, team_id: int) -> tuple[str, ...]:
        """The peer ids of every open console of the team's members."""

    async def subscribe(self, peer_id: str, citizen_ids: Iterable[str]) -> None:
        """Replace the citizens whose presence this console follows."""

    async def watchers(self, citizen_id: str) -> tuple[str, ...]:
        """The consoles following this citizen's presence."""

    # -- calls ------------------------------------------------------------------------------

    async def find(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""

    async def get(self, call_id: str) -> LiveCall:
        """The live call with this id; ``UnknownCall`` otherwise."""

    async def call_of(self, peer_id: str) -> LiveCall | None:
        """The call in which this peer holds a seat."""

    async def call_of_citizen(self, citizen_id: str) -> LiveCall | None:
        """The citizen's live call."""

    async def call_of_visit(self, visit_id: str) -> LiveCall | None:
        """The live call of a visit (a meeting's, which guests knock on)."""

    async def resumable(self, kind: PeerKind, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls where this identity has a seat waiting in its grace period."""

    async def meta(self, call_id: str) -> CallMeta | None:
        """What we know of the call beyond its seats."""

    async def profile(self, peer_id: str) -> PeerProfile | None:
        """The profile of a peer holding a seat in a call."""

    async def ring(
        self, call_id: str, citizen_id: str, caller: Seat, kiosk: Seat, meta: CallMeta
    ) -> LiveCall:
        """Start ringing the kiosk for the caller."""

    async def accept(self, call_id: str, peer_id: str) -> LiveCall:
        """The kiosk answers."""

    async def decline(self, call_id: str, peer_id: str) -> Over:
        """The kiosk declines the ring."""

    async def cancel(self, call_id: str, peer_id: str) -> Over:
        """A staff participant withdraws the ring."""

    async def timeout(self, call_id: str) -> Over | None:
        """The ring ran out; None when the call was answered or ended meanwhile."""

    async def abort(self, call_id: str) -> Over | None:
        """The server stops: the call ends as lost; None when it ended meanwhile."""

    async def live_calls(self) -> tuple[LiveCall, ...]:
        """Every live call this book holds."""

    async def invite(self, call_id: str, by_peer_id: str, identity_id: str) -> LiveCall:
        """A staff participant invites a colleague (the invitation reserves a seat)."""

    async def join(self, call_id: str, seat: Seat) -> LiveCall:
        """The invited colleague takes the reserved seat."""

    async def decline_invite(self, call_id: str, identity_id: str) -> LiveCall:
        """The colleague declines; the seat is released."""

    async def expire_invite(self, call_id: str, identity_id: str) -> LiveCall | None:
        """The invitation ran out; None when it was answered or the call ended meanwhile."""

    async def admit(self, call_id: str, seat: Seat) -> LiveCall:
        """A host lets a guest in from the lobby (``RoomFull`` when no seat is free)."""

    async def leave(self, call_id: str, peer_id: str) -> Departure:
        """A participant hangs up."""

    async def drop(self, peer_id: str) -> LiveCall | None:
        """The peer's socket dropped: its seat waits for the grace period."""

    async def expire_grace(self, call_id: str, peer_id: str) -> Departure | None:
        """The grace period ran out; None when the seat was resumed or freed meanwhile."""

    async def resume(self, call_id: str, resume_token: str, seat: Seat) -> Resumed:
        """A reconnected socket takes back its seat."""
