"""The live-call book of one process (see ``book``): the pure registry plus the facts around it.

Every method runs to completion without yielding to the event loop, so each one is atomic
with respect to the other tasks of the process, as the registry's operations are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from ..vocabulary import PeerKind
from .book import CallMeta, Departure, Over, PeerProfile, Seat
from .registry import Ended, Left, LiveCall, Resumed, RoomRegistry

K = TypeVar("K")


class LocalBook:
    """Presence and live calls held in this process's memory."""

    def __init__(self, max_participants: int) -> None:
        self.registry = RoomRegistry(max_participants=max_participants)
        self._kiosks: dict[str, str] = {}  # citizen id → the kiosk's peer id
        self._staff: dict[str, set[str]] = {}  # staff id → peer ids (tabs)
        self._teams: dict[int, set[str]] = {}  # team id → peer ids of its members' tabs
        self._following: dict[str, frozenset[str]] = {}  # peer id → citizen ids it follows
        self._watchers: dict[str, set[str]] = {}  # citizen id → peer ids following it
        self._profiles: dict[str, PeerProfile] = {}  # peer id → profile, for seats in calls
        self._meta: dict[str, CallMeta] = {}  # call id → what we know of it

    def idle(self) -> bool:
        """Nothing live: no socket's presence, subscription, call or leftover fact."""
        maps = (self._kiosks, self._staff, self._teams, self._watchers, self._profiles, self._meta)
        following = any(self._following.values())
        return len(self.registry) == 0 and not any(maps) and not following

    # -- presence ---------------------------------------------------------------------------

    async def connect(
        self, peer_id: str, profile: PeerProfile, resume_token: str = ""
    ) -> str | None:
        """Register the socket; a kiosk displaces the citizen's older kiosk socket."""
        if profile.kind is PeerKind.STAFF:
            self._staff.setdefault(profile.identity_id, set()).add(peer_id)
            for team_id in _team_ids(profile):
                self._teams.setdefault(team_id, set()).add(peer_id)
            return None
        if profile.kind is not PeerKind.KIOSK or profile.citizen_id is None:
            return None
        older = self._kiosks.get(profile.citizen_id)
        self._kiosks[profile.citizen_id] = peer_id
        return older if older != peer_id else None

    async def disconnect(self, peer_id: str, profile: PeerProfile) -> bool:
        """Forget the socket's presence and subscriptions."""
        await self.subscribe(peer_id, ())
        self._following.pop(peer_id, None)
        if profile.kind is PeerKind.STAFF:
            _discard(self._staff, profile.identity_id, peer_id)
            for team_id in _team_ids(profile):
                _discard(self._teams, team_id, peer_id)
            return False
        citizen_id = profile.citizen_id
        if profile.kind is not PeerKind.KIOSK or citizen_id is None:
            return False
        if self._kiosks.get(citizen_id) != peer_id:
            return False
        del self._kiosks[citizen_id]
        return True

    async def kiosk_peer(self, citizen_id: str) -> str | None:
        """The citizen's connected kiosk."""
        return self._kiosks.get(citizen_id)

    async def online_citizens(self, citizen_ids: Iterable[str]) -> set[str]:
        """The citizens whose kiosk is connected."""
        return {c for c in citizen_ids if c in self._kiosks}

    async def staff_tabs(self, staff_id: str) -> tuple[str, ...]:
        """A staff member's open consoles."""
        return tuple(self._staff.get(staff_id, ()))

    async def online_staff(self) -> set[str]:
        """Staff with a console open."""
        return set(self._staff)

    async def team_peers(self, team_id: int) -> tuple[str, ...]:
        """Every open console of the team's members."""
        return tuple(self._teams.get(team_id, ()))

    async def subscribe(self, peer_id: str, citizen_ids: Iterable[str]) -> None:
        """Replace what the console follows."""
        for citizen_id in self._following.get(peer_id, ()):
            _discard(self._watchers, citizen_id, peer_id)
        wanted = frozenset(citizen_ids)
        self._following[peer_id] = wanted
        for citizen_id in wanted:
            self._watchers.setdefault(citizen_id, set()).add(peer_id)

    async def watchers(self, citizen_id: str) -> tuple[str, ...]:
        """The consoles following the citizen."""
        return tuple(self._watchers.get(citizen_id, ()))

    # -- lookups ----------------------------------------------------------------------------

    async def find(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""
        return self.registry.find(call_id)

    async def get(self, call_id: str) -> LiveCall:
        """The live call with this id, or UnknownCall."""
        return self.registry.get(call_id)

    async def call_of(self, peer_id: str) -> LiveCall | None:
        """The peer's call."""
        return self.registry.call_of(peer_id)

    async def call_of_citizen(self, citizen_id: str) -> LiveCall | None:
        """The citizen's call."""
        return self.registry.call_of_citizen(citizen_id)

    async def call_of_visit(self, visit_id: str) -> LiveCall | None:
        """The visit's call."""
        return next((c for c in self.registry.calls() if c.visit_id == visit_id), None)

    async def resumable(self, kind: PeerKind, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls with a seat waiting for this identity."""
        return self.registry.resumable(kind, identity_id)

    async def meta(self, call_id: str) -> CallMeta | None:
        """What we know of the call."""
        return self._meta.get(call_id)

    async def profile(self, peer_id: str) -> PeerProfile | None:
        """The profile of a seated peer."""
        return self._profiles.get(peer_id)

    # -- calls ------------------------------------------------------------------------------

    async def ring(
        self, call_id: str, citizen_id: str, caller: Seat, kiosk: Seat, meta: CallMeta
    ) -> LiveCall:
        """Start the ring and remember the call's facts and both faces."""
        visit_id = str(meta.visit_id) if meta.visit_id else None
        call = self.registry.start_ring(
            call_id, citizen_id, caller.participant, kiosk.participant, visit_id=visit_id
        )
        self._meta[call_id] = meta
        self._seat(caller, kiosk)
        return call

    async def accept(self, call_id: str, peer_id: str) -> LiveCall:
        """The kiosk answers."""
        return self.registry.accept(call_id, peer_id)

    async def decline(self, call_id: str, peer_id: str) -> Over:
        """The kiosk declines."""
        return self._over(self.registry.decline(call_id, peer_id))

    async def cancel(self, call_id: str, peer_id: str) -> Over:
        """The caller withdraws the ring."""
        return self._over(self.registry.cancel(call_id, peer_id))

    async def timeout(self, call_id: str) -> Over | None:
        """The ring ran out."""
        ended = self.registry.timeout(call_id)
        return None if ended is None else self._over(ended)

    async def abort(self, call_id: str) -> Over | None:
        """End the call as lost (the server stops)."""
        ended = self.registry.abort(call_id)
        return None if ended is None else self._over(ended)

    async def live_calls(self) -> tuple[LiveCall, ...]:
        """Every live call of this process."""
        return self.registry.calls()

    async def invite(self, call_id: str, by_peer_id: str, identity_id: str) -> LiveCall:
        """Reserve a seat for a colleague."""
        return self.registry.invite(call_id, by_peer_id, identity_id)

    async def join(self, call_id: str, seat: Seat) -> LiveCall:
        """The colleague takes the reserved seat."""
        call = self.registry.join(call_id, seat.participant)
        self._seat(seat)
        return call

    async def decline_invite(self, call_id: str, identity_id: str) -> LiveCall:
        """Release a colleague's reserved seat."""
        return self.registry.decline_invite(call_id, identity_id)

    async def expire_invite(self, call_id: str, identity_id: str) -> LiveCall | None:
        """The invitation ran out."""
        return self.registry.expire_invite(call_id, identity_id)

    async def admit(self, call_id: str, seat: Seat) -> LiveCall:
        """A guest takes a free seat."""
        call = self.registry.admit(call_id, seat.participant)
        self._seat(seat)
        return call

    async def leave(self, call_id: str, peer_id: str) -> Departure:
        """A participant hangs up."""
        return self._departure(self.registry.leave(call_id, peer_id))

    async def drop(self, peer_id: str) -> LiveCall | None:
        """Keep the seat of a dropped socket for its grace period."""
        return self.registry.disconnect(peer_id)

    async def expire_grace(self, call_id: str, peer_id: str) -> Departure | None:
        """Release the seat whose grace ran out."""
        left = self.registry.expire_grace(call_id, peer_id)
        return None if left is None else self._departure(left)

    async def resume(self, call_id: str, resume_token: str, seat: Seat) -> Resumed:
        """Move a seat to the reconnected socket."""
        resumed = self.registry.resume(call_id, resume_token, seat.participant)
        self._profiles.pop(resumed.old_peer_id, None)
        self._seat(seat)
        return resumed

    # -- a scratch book for a shared book (rooms.redis_book) --------------------------------

    def load(self, call: LiveCall, meta: CallMeta | None, profiles: dict[str, PeerProfile]) -> None:
        """Take in a call held elsewhere, with its facts and its seats' faces."""
        self.registry.load(call)
        if meta is not None:
            self._meta[call.call_id] = meta
        self._profiles.update(profiles)

    def facts(self, call: LiveCall) -> tuple[CallMeta | None, dict[str, PeerProfile]]:
        """The facts and seat faces this book holds for a call."""
        profiles = {p: self._profiles[p] for p in call.participants if p in self._profiles}
        return self._meta.get(call.call_id), profiles

    # -- internals --------------------------------------------------------------------------

    def _seat(self, *seats: Seat) -> None:
        for seat in seats:
            self._profiles[seat.peer_id] = seat.profile

    def _over(self, ended: Ended) -> Over:
        """Forget an ended call's facts and faces; hand them out one last time."""
        for peer_id in ended.call.participants:
            self._profiles.pop(peer_id, None)
        return Over(ended, self._meta.pop(ended.call.call_id, None))

    def _departure(self, left: Left) -> Departure:
        profile = self._profiles.pop(left.peer.peer_id, None)
        if left.ended is None:
            return Departure(left, profile)
        over = self._over(Ended(left.call, left.ended, left.peer.peer_id))
        return Departure(left, profile, over.meta)


def _team_ids(profile: PeerProfile) -> frozenset[int]:
    return profile.staff.team_ids if profile.staff is not None else frozenset()


def _discard(index: dict[K, set[str]], key: K, peer_id: str) -> None:
    """Remove ``peer_id`` from ``index[key]``, dropping the key once empty."""
    members = index.get(key)
    if members is not None:
        members.discard(peer_id)
        if not members:
            del index[key]
