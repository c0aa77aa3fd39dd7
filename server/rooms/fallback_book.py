"""The cluster's book when Redis may go away: shared while Redis answers, this node's own while
it does not, and shared again when it is back.

A node that cannot reach Redis keeps serving the sockets it holds: presence among them (a nurse
on this node still sees the tablets on this node and can ring them), and the calls they sit in
(``RedisBook`` keeps a copy of the calls this node stepped, so a call in progress still relays
its signalling and can be hung up). Peers on other nodes are out of reach until Redis returns;
that is the price of the outage, not an error.

The switch back (``rejoin``, from the node's heartbeat once Redis answers) writes what happened
meanwhile: the calls this node held are stored as it has them (an ended one is removed), the
sockets it no longer holds are taken out of Redis, and the ones it holds are registered again
with what their consoles follow. Steps wait while it runs, so nothing lands in a book that is
being retired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from ..shared_state import REDIS_AWAY
from ..vocabulary import PeerKind
from .book import CallBook, CallMeta, Departure, Over, PeerProfile, Seat
from .local_book import LocalBook
from .redis_book import RedisBook
from .registry import LiveCall, Resumed

logger = logging.getLogger(__name__)
T = TypeVar("T")


# The sockets this node holds: peer id, profile, resume token (the hub's peers).
LocalPeers = Callable[[], Iterable[tuple[str, PeerProfile, str]]]


class FallbackBook:
    """``RedisBook`` while Redis answers, a ``LocalBook`` of this node's peers while it does not."""

    def __init__(self, shared: RedisBook, local_peers: LocalPeers) -> None:
        self.shared = shared
        self.node = shared.node
        self._local_peers = local_peers
        self._local: LocalBook | None = None
        self._held: set[str] = set()  # call ids the local book started with
        # What this node's consoles follow, kept here too: Redis cannot be asked in an outage.
        self._following: dict[str, frozenset[str]] = {}
        self._switch = asyncio.Lock()

    @property
    def degraded(self) -> bool:
        """Redis is away: this node serves only its own sockets."""
        return self._local is not None

    async def _either(self, step: Callable[[CallBook], Awaitable[T]]) -> T:
        """Run a book step on Redis, or on this node's own book while Redis is away."""
        if self._local is None:
            try:
                return await step(self.shared)
            except REDIS_AWAY:
                await self.fall_back()
        async with self._switch:  # a rejoin in progress finishes first
            if self._local is None:
                return await step(self.shared)
            return await step(self._local)

    async def fall_back(self) -> None:
        """Start serving this node's sockets from memory (once per outage). ``LocalBook``'s
        methods never yield to the event loop, so no other step sees a half-built book."""
        if self._local is not None:
            return
        logger.warning("Redis is unreachable: this node serves its own sockets until it returns")
        local = LocalBook(self.shared.max_participants)
        peers = list(self._local_peers())
        for call, meta, profiles in self.shared.remembered({p[0] for p in peers}):
            local.load(call, meta, profiles)
        for peer_id, profile, resume_token in peers:
            await local.connect(peer_id, profile, resume_token)
            await local.subscribe(peer_id, self._following.get(peer_id, ()))
        self._held = {c.call_id for c in local.registry.calls()}
        self._local = local

    async def rejoin(self) -> None:
        """Redis answers again: write back what this node did meanwhile, then share again."""
        async with self._switch:
            local = self._local
            if local is None:
                return
            await self.shared.adopt(local, self._held)
            peers = list(self._local_peers())
            await self.shared.reregister(peers, self._following)
            self._local, self._held = None, set()
            logger.warning("Redis is back: %d sockets registered again", len(peers))

    # -- presence ---------------------------------------------------------------------------

    async def connect(
        self, peer_id: str, profile: PeerProfile, resume_token: str = ""
    ) -> str | None:
        """Register the socket."""
        return await self._either(lambda b: b.connect(peer_id, profile, resume_token))

    async def disconnect(self, peer_id: str, profile: PeerProfile) -> bool:
        """Forget the socket."""
        self._following.pop(peer_id, None)
        return await self._either(lambda b: b.disconnect(peer_id, profile))

    async def kiosk_peer(self, citizen_id: str) -> str | None:
        """The citizen's connected kiosk."""
        return await self._either(lambda b: b.kiosk_peer(citizen_id))

    async def online_citizens(self, citizen_ids: Iterable[str]) -> set[str]:
        """The citizens whose kiosk is connected."""
        ids = list(citizen_ids)
        return await self._either(lambda b: b.online_citizens(ids))

    async def staff_tabs(self, staff_id: str) -> tuple[str, ...]:
        """A staff member's open consoles."""
        return await self._either(lambda b: b.staff_tabs(staff_id))

    async def online_staff(self) -> set[str]:
        """Staff with a console open."""
        return await self._either(lambda b: b.online_staff())

    async def team_peers(self, team_id: int) -> tuple[str, ...]:
        """Every open console of the team's members."""
        return await self._either(lambda b: b.team_peers(team_id))

    async def subscribe(self, peer_id: str, citizen_ids: Iterable[str]) -> None:
        """Replace what the console follows."""
        ids = frozenset(citizen_ids)
        if ids:
            self._following[peer_id] = ids
        else:
            self._following.pop(peer_id, None)
        await self._either(lambda b: b.subscribe(peer_id, ids))

    async def watchers(self, citizen_id: str) -> tuple[str, ...]:
        """The consoles following the citizen."""
        return await self._either(lambda b: b.watchers(citizen_id))

    # -- lookups ----------------------------------------------------------------------------

    async def find(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""
        return await self._either(lambda b: b.find(call_id))

    async def get(self, call_id: str) -> LiveCall:
        """The live call with this id, or UnknownCall."""
        return await self._either(lambda b: b.get(call_id))

    async def call_of(self, peer_id: str) -> LiveCall | None:
        """The peer's call."""
        return await self._either(lambda b: b.call_of(peer_id))

    async def call_of_citizen(self, citizen_id: str) -> LiveCall | None:
        """The citizen's call."""
        return await self._either(lambda b: b.call_of_citizen(citizen_id))

    async def call_of_visit(self, visit_id: str) -> LiveCall | None:
        """The visit's call."""
        return await self._either(lambda b: b.call_of_visit(visit_id))

    async def resumable(self, kind: PeerKind, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls with a seat waiting for this identity."""
        return await self._either(lambda b: b.resumable(kind, identity_id))

    async def meta(self, call_id: str) -> CallMeta | None:
        """What we know of the call."""
        return await self._either(lambda b: b.meta(call_id))

    async def profile(self, peer_id: str) -> PeerProfile | None:
        """The profile of a seated peer."""
        return await self._either(lambda b: b.profile(peer_id))

    async def live_calls(self) -> tuple[LiveCall, ...]:
        """The calls this node hosts (Redis) or holds (during an outage)."""
        return await self._either(lambda b: b.live_calls())

    # -- call steps -------------------------------------------------------------------------

    async def ring(
        self, call_id: str, citizen_id: str, caller: Seat, kiosk: Seat, meta: CallMeta
    ) -> LiveCall:
        """Start ringing the kiosk for the caller."""
        return await self._either(lambda b: b.ring(call_id, citizen_id, caller, kiosk, meta))

    async def accept(self, call_id: str, peer_id: str) -> LiveCall:
        """The kiosk answers."""
        return await self._either(lambda b: b.accept(call_id, peer_id))

    async def decline(self, call_id: str, peer_id: str) -> Over:
        """The kiosk declines."""
        return await self._either(lambda b: b.decline(call_id, peer_id))

    async def cancel(self, call_id: str, peer_id: str) -> Over:
        """The caller withdraws the ring."""
        return await self._either(lambda b: b.cancel(call_id, peer_id))

    async def timeout(self, call_id: str) -> Over | None:
        """The ring ran out."""
        return await self._either(lambda b: b.timeout(call_id))

    async def abort(self, call_id: str) -> Over | None:
        """End the call as lost."""
        return await self._either(lambda b: b.abort(call_id))

    async def invite(self, call_id: str, by_peer_id: str, identity_id: str) -> LiveCall:
        """Reserve a seat for a colleague."""
        return await self._either(lambda b: b.invite(call_id, by_peer_id, identity_id))

    async def join(self, call_id: str, seat: Seat) -> LiveCall:
        """The colleague takes the reserved seat."""
        return await self._either(lambda b: b.join(call_id, seat))

    async def decline_invite(self, call_id: str, identity_id: str) -> LiveCall:
        """Release a colleague's reserved seat."""
        return await self._either(lambda b: b.decline_invite(call_id, identity_id))

    async def expire_invite(self, call_id: str, identity_id: str) -> LiveCall | None:
        """The invitation ran out."""
        return await self._either(lambda b: b.expire_invite(call_id, identity_id))

    async def admit(self, call_id: str, seat: Seat) -> LiveCall:
        """A guest takes a free seat."""
        return await self._either(lambda b: b.admit(call_id, seat))

    async def leave(self, call_id: str, peer_id: str) -> Departure:
        """A participant hangs up."""
        return await self._either(lambda b: b.leave(call_id, peer_id))

    async def drop(self, peer_id: str) -> LiveCall | None:
        """Keep the seat of a dropped socket for its grace period."""
        return await self._either(lambda b: b.drop(peer_id))

    async def expire_grace(self, call_id: str, peer_id: str) -> Departure | None:
        """Release the seat whose grace ran out."""
        return await self._either(lambda b: b.expire_grace(call_id, peer_id))

    async def resume(self, call_id: str, resume_token: str, seat: Seat) -> Resumed:
        """Move a seat to the reconnected socket."""
        return await self._either(lambda b: b.resume(call_id, resume_token, seat))
