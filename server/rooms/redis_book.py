"""The live-call book shared by several server processes (nodes), in Redis.

Same interface as ``LocalBook`` (``rooms.book.CallBook``), so the signalling handlers do not
know which one they use. Presence is plain Redis sets and keys, written without locks (each
write is one atomic command or pipeline). A call step (ring, accept, leave …) runs under one
short cluster-wide lock: the calls it touches are read into a scratch ``LocalBook``, the very
same method runs there (one home for the rules: ``RoomRegistry``), and what changed is written
back in one MULTI/EXEC transaction. Each call records the node that hosts it (where it was rung:
that node renews its database lease and ends it on a graceful stop); a node that dies has its
peers and calls swept by the others (``signaling.cluster``).

Keys (prefix ``sv:``): ``call:{id}`` one JSON document per live call; ``callof:peer``,
``callof:citizen``, ``callof:visit`` hashes; ``ident:{kind}:{identity}`` the calls an identity
has a seat in; ``hosted:{node}`` the calls a node hosts; ``kiosk:{citizen}`` the citizen's
kiosk peer id;
``staff:{id}``, ``team:{id}`` the consoles of a staff member and of a team; ``staffids`` staff
members online; ``following:{peer}``/``watchers:{citizen}`` presence subscriptions;
``peer:{id}`` a connected peer's node, profile and devices; ``nodepeers:{node}`` the peers a
node holds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from redis.asyncio import Redis

from ..vocabulary import PeerKind
from . import codec
from .book import CallMeta, Departure, Over, PeerProfile, Seat
from .errors import UnknownCall
from .local_book import LocalBook
from .registry import LiveCall, Resumed

T = TypeVar("T")
P = "sv:"
LOCK_KEY = P + "lock:calls"
LOCK_TTL_MS = 5_000  # a node that dies holding the lock frees it after this
# Delete a key only while it still holds our value (a lock we hold, a kiosk still ours).
_DELETE_IF_OURS = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class RedisBook:
    """Presence and live calls of every node, in Redis (see the module notes)."""

    def __init__(self, redis: Redis, node: str, max_participants: int) -> None:
        # Any: redis-py's annotations do not follow ``decode_responses=True`` (str, not bytes).
        self.redis: Any = redis
        self.node = node
        self.max_participants = max_participants
        self._delete_if_ours = redis.register_script(_DELETE_IF_OURS)
        # The last document of every call this node stepped, so that the node can carry on with
        # them while Redis is away (``rooms.fallback_book``); kept for calls with a peer here.
        self._mirror: dict[str, dict[str, Any]] = {}

    # -- presence ---------------------------------------------------------------------------

    async def connect(
        self, peer_id: str, profile: PeerProfile, resume_token: str = ""
    ) -> str | None:
        """Register the socket on this node; a kiosk displaces the citizen's older kiosk."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(P + f"nodepeers:{self.node}", peer_id)
        record = {
            "node": self.node,
            "profile": codec.dumps(codec.profile_to_dict(profile)),
            "resume": resume_token,
        }
        pipe.hset(P + f"peer:{peer_id}", mapping=record)
        if profile.kind is PeerKind.STAFF:
            pipe.sadd(P + f"staff:{profile.identity_id}", peer_id)
            pipe.sadd(P + "staffids", profile.identity_id)
            for team_id in _team_ids(profile):
                pipe.sadd(P + f"team:{team_id}", peer_id)
        elif profile.kind is PeerKind.KIOSK and profile.citizen_id is not None:
            pipe.set(P + f"kiosk:{profile.citizen_id}", peer_id, get=True)
        results = await pipe.execute()
        if profile.kind is not PeerKind.KIOSK or profile.citizen_id is None:
            return None
        older: str | None = results[-1]
        return older if older != peer_id else None

    async def disconnect(self, peer_id: str, profile: PeerProfile) -> bool:
        """Forget the socket's presence and subscriptions; True when it was the current kiosk.
        A tablet's is one round trip: thousands of them leave at once when a node restarts."""
        if profile.kind is PeerKind.STAFF:
            await self.subscribe(peer_id, ())  # only consoles follow presence
        pipe = self.redis.pipeline(transaction=False)
        pipe.srem(P + f"nodepeers:{self.node}", peer_id)
        pipe.delete(P + f"peer:{peer_id}", P + f"following:{peer_id}")
        if profile.kind is PeerKind.STAFF:
            pipe.srem(P + f"staff:{profile.identity_id}", peer_id)
            for team_id in _team_ids(profile):
                pipe.srem(P + f"team:{team_id}", peer_id)
        is_kiosk = profile.kind is PeerKind.KIOSK and profile.citizen_id is not None
        if is_kiosk:
            key = P + f"kiosk:{profile.citizen_id}"
            pipe.eval(_DELETE_IF_OURS, 1, key, peer_id)
        results = await pipe.execute()
        staff_key = P + f"staff:{profile.identity_id}"
        if profile.kind is PeerKind.STAFF and not await self.redis.scard(staff_key):
            await self.redis.srem(P + "staffids", profile.identity_id)
        return is_kiosk and bool(results[-1])

    async def forget_node(self, node: str) -> None:
        """Drop a swept node's own sets (its peers were disconnected one by one)."""
        await self.redis.delete(P + f"nodepeers:{node}")

    async def peers_of(self, node: str) -> list[tuple[str, PeerProfile]]:
        """The peers a node held, with their profiles (a dead node's, to sweep them)."""
        peer_ids = sorted(await self.redis.smembers(P + f"nodepeers:{node}"))
        pipe = self.redis.pipeline(transaction=False)
        for peer_id in peer_ids:
            pipe.hget(P + f"peer:{peer_id}", "profile")
        found: list[tuple[str, PeerProfile]] = []
        for peer_id, raw in zip(peer_ids, await pipe.execute(), strict=True):
            if raw is not None:
                found.append((peer_id, codec.profile_from_dict(json.loads(raw))))
        return found

    async def peer_record(self, peer_id: str) -> dict[str, str]:
        """What the cluster knows of a connected peer: node, profile, resume token, devices."""
        record: dict[str, str] = await self.redis.hgetall(P + f"peer:{peer_id}")
        return record

    async def node_of(self, peer_id: str) -> str | None:
        """The node that holds a connected peer's socket."""
        node: str | None = await self.redis.hget(P + f"peer:{peer_id}", "node")
        return node

    async def annotate(self, peer_id: str, **fields: str) -> None:
        """Add facts to a connected peer's record (its resume token, its devices)."""
        await self.redis.hset(P + f"peer:{peer_id}", mapping=fields)

    async def kiosk_peer(self, citizen_id: str) -> str | None:
        """The citizen's connected kiosk, on whichever node."""
        peer_id: str | None = await self.redis.get(P + f"kiosk:{citizen_id}")
        return peer_id

    async def online_citizens(self, citizen_ids: Iterable[str]) -> set[str]:
        """The citizens whose kiosk is connected."""
        ids = list(citizen_ids)
        if not ids:
            return set()
        found = await self.redis.mget([P + f"kiosk:{c}" for c in ids])
        return {c for c, peer in zip(ids, found, strict=True) if peer is not None}

    async def staff_tabs(self, staff_id: str) -> tuple[str, ...]:
        """A staff member's open consoles."""
        return tuple(sorted(await self.redis.smembers(P + f"staff:{staff_id}")))

    async def online_staff(self) -> set[str]:
        """Staff with a console open."""
        return set(await self.redis.smembers(P + "staffids"))

    async def team_peers(self, team_id: int) -> tuple[str, ...]:
        """Every open console of the team's members."""
        return tuple(await self.redis.smembers(P + f"team:{team_id}"))

    async def subscribe(self, peer_id: str, citizen_ids: Iterable[str]) -> None:
        """Replace what the console follows."""
        key = P + f"following:{peer_id}"
        before = await self.redis.smembers(key)
        wanted = set(citizen_ids)
        pipe = self.redis.pipeline(transaction=True)
        for citizen_id in before - wanted:
            pipe.srem(P + f"watchers:{citizen_id}", peer_id)
        for citizen_id in wanted - set(before):
            pipe.sadd(P + f"watchers:{citizen_id}", peer_id)
        pipe.delete(key)
        if wanted:
            pipe.sadd(key, *wanted)
        await pipe.execute()

    async def watchers(self, citizen_id: str) -> tuple[str, ...]:
        """The consoles following the citizen."""
        return tuple(await self.redis.smembers(P + f"watchers:{citizen_id}"))

    # -- lookups (no lock: one read of one consistent document) -----------------------------

    async def find(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""
        doc = await self._doc(call_id)
        return None if doc is None else codec.call_from_dict(doc["call"])

    async def get(self, call_id: str) -> LiveCall:
        """The live call with this id, or UnknownCall."""
        call = await self.find(call_id)
        if call is None:
            raise UnknownCall(call_id)
        return call

    async def call_of(self, peer_id: str) -> LiveCall | None:
        """The peer's call."""
        call_id = await self.redis.hget(P + "callof:peer", peer_id)
        return None if call_id is None else await self.find(call_id)

    async def call_of_citizen(self, citizen_id: str) -> LiveCall | None:
        """The citizen's call."""
        call_id = await self.redis.hget(P + "callof:citizen", citizen_id)
        return None if call_id is None else await self.find(call_id)

    async def call_of_visit(self, visit_id: str) -> LiveCall | None:
        """The visit's call."""
        call_id = await self.redis.hget(P + "callof:visit", visit_id)
        return None if call_id is None else await self.find(call_id)

    async def resumable(self, kind: PeerKind, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls with a seat waiting for this identity."""
        call_ids = await self.redis.smembers(_ident_key(kind, identity_id))
        if not call_ids:
            return ()
        scratch = await self._scratch(call_ids=call_ids)
        return await scratch.resumable(kind, identity_id)

    async def meta(self, call_id: str) -> CallMeta | None:
        """What we know of the call."""
        doc = await self._doc(call_id)
        return None if doc is None else codec.meta_from_dict(doc["meta"])

    async def profile(self, peer_id: str) -> PeerProfile | None:
        """The profile of a seated peer."""
        call_id = await self.redis.hget(P + "callof:peer", peer_id)
        doc = None if call_id is None else await self._doc(call_id)
        raw = None if doc is None else doc["profiles"].get(peer_id)
        return None if raw is None else codec.profile_from_dict(raw)

    async def live_calls(self) -> tuple[LiveCall, ...]:
        """The live calls this node hosts (it renews their leases and ends them on a stop)."""
        return await self.hosted_by(self.node)

    async def hosted_by(self, node: str) -> tuple[LiveCall, ...]:
        """The live calls a node hosts."""
        call_ids = sorted(await self.redis.smembers(P + f"hosted:{node}"))
        if not call_ids:
            return ()
        docs = await self.redis.mget([P + f"call:{c}" for c in call_ids])
        return tuple(codec.call_from_dict(json.loads(d)["call"]) for d in docs if d is not None)

    async def take_over(self, call_id: str, from_node: str) -> bool:
        """Host a dead node's call from now on; False when it ended meanwhile."""
        async with self._lock():
            raw = await self.redis.get(P + f"call:{call_id}")
            if raw is None:
                await self.redis.srem(P + f"hosted:{from_node}", call_id)
                return False
            doc = json.loads(raw)
            doc["host"] = self.node
            pipe = self.redis.pipeline(transaction=True)
            pipe.set(P + f"call:{call_id}", codec.dumps(doc))
            pipe.smove(P + f"hosted:{from_node}", P + f"hosted:{self.node}", call_id)
            await pipe.execute()
            return True

    # -- call steps (under the lock, on a scratch book) --------------------------------------

    async def ring(
        self, call_id: str, citizen_id: str, caller: Seat, kiosk: Seat, meta: CallMeta
    ) -> LiveCall:
        """Start ringing the kiosk for the caller."""
        ident = (caller.participant.kind, caller.participant.identity_id)
        return await self._step(
            lambda b: b.ring(call_id, citizen_id, caller, kiosk, meta),
            peers=(caller.peer_id, kiosk.peer_id),
            citizens=(citizen_id,),
            identities=(ident,),
        )

    async def accept(self, call_id: str, peer_id: str) -> LiveCall:
        """The kiosk answers."""
        return await self._step(lambda b: b.accept(call_id, peer_id), calls=(call_id,))

    async def decline(self, call_id: str, peer_id: str) -> Over:
        """The kiosk declines."""
        return await self._step(lambda b: b.decline(call_id, peer_id), calls=(call_id,))

    async def cancel(self, call_id: str, peer_id: str) -> Over:
        """The caller withdraws the ring."""
        return await self._step(lambda b: b.cancel(call_id, peer_id), calls=(call_id,))

    async def timeout(self, call_id: str) -> Over | None:
        """The ring ran out."""
        return await self._step(lambda b: b.timeout(call_id), calls=(call_id,))

    async def abort(self, call_id: str) -> Over | None:
        """End the call as lost."""
        return await self._step(lambda b: b.abort(call_id), calls=(call_id,))

    async def invite(self, call_id: str, by_peer_id: str, identity_id: str) -> LiveCall:
        """Reserve a seat for a colleague."""
        step = lambda b: b.invite(call_id, by_peer_id, identity_id)  # noqa: E731
        return await self._step(step, calls=(call_id,))

    async def join(self, call_id: str, seat: Seat) -> LiveCall:
        """The colleague takes the reserved seat."""
        return await self._step(
            lambda b: b.join(call_id, seat), calls=(call_id,), peers=(seat.peer_id,)
        )

    async def decline_invite(self, call_id: str, identity_id: str) -> LiveCall:
        """Release a colleague's reserved seat."""
        return await self._step(lambda b: b.decline_invite(call_id, identity_id), calls=(call_id,))

    async def expire_invite(self, call_id: str, identity_id: str) -> LiveCall | None:
        """The invitation ran out."""
        return await self._step(lambda b: b.expire_invite(call_id, identity_id), calls=(call_id,))

    async def admit(self, call_id: str, seat: Seat) -> LiveCall:
        """A guest takes a free seat."""
        return await self._step(
            lambda b: b.admit(call_id, seat), calls=(call_id,), peers=(seat.peer_id,)
        )

    async def leave(self, call_id: str, peer_id: str) -> Departure:
        """A participant hangs up."""
        return await self._step(lambda b: b.leave(call_id, peer_id), calls=(call_id,))

    async def drop(self, peer_id: str) -> LiveCall | None:
        """Keep the seat of a dropped socket for its grace period."""
        return await self._step(lambda b: b.drop(peer_id), peers=(peer_id,))

    async def expire_grace(self, call_id: str, peer_id: str) -> Departure | None:
        """Release the seat whose grace ran out."""
        return await self._step(lambda b: b.expire_grace(call_id, peer_id), calls=(call_id,))

    async def resume(self, call_id: str, resume_token: str, seat: Seat) -> Resumed:
        """Move a seat to the reconnected socket."""
        step = lambda b: b.resume(call_id, resume_token, seat)  # noqa: E731
        return await self._step(step, calls=(call_id,), peers=(seat.peer_id,))

    # -- carrying on while Redis is away (``rooms.fallback_book``) ----------------------------

    def remembered(
        self, here: set[str]
    ) -> Iterable[tuple[LiveCall, CallMeta | None, dict[str, PeerProfile]]]:
        """The last known state of the calls with a peer on this node."""
        for doc in list(self._mirror.values()):
            call = codec.call_from_dict(doc["call"])
            if here.isdisjoint(call.participants):
                continue
            profiles = {p: codec.profile_from_dict(v) for p, v in doc["profiles"].items()}
            yield call, codec.meta_from_dict(doc["meta"]), profiles

    def forget_calls_without(self, here: set[str]) -> None:
        """Drop remembered calls with no peer on this node any more (they ended elsewhere, or
        their peers moved): the memory stays the size of this node's calls."""
        for call_id, doc in list(self._mirror.items()):
            if here.isdisjoint(seat[0] for seat in doc["call"]["seats"]):
                del self._mirror[call_id]

    async def adopt(self, local: LocalBook, held: set[str]) -> None:
        """Store what this node did with its calls while Redis was away: the calls it holds
        now as it has them, and those it held at the start and ended meanwhile removed."""
        async with self._lock():
            ids = held | {c.call_id for c in await local.live_calls()}
            await self._store(await self._docs(ids), local)

    async def reregister(
        self, peers: Iterable[tuple[str, PeerProfile, str]], following: dict[str, frozenset[str]]
    ) -> None:
        """Make Redis hold this node's sockets as they are now: forget the ones that left while
        it was away, register the others again with what their consoles follow."""
        peers = list(peers)
        here = {peer_id for peer_id, _, _ in peers}
        for peer_id, profile in await self.peers_of(self.node):
            if peer_id not in here:
                await self.disconnect(peer_id, profile)
        for peer_id, profile, resume_token in peers:
            await self.connect(peer_id, profile, resume_token)
            if peer_id in following:
                await self.subscribe(peer_id, following[peer_id])

    # -- internals --------------------------------------------------------------------------

    async def _doc(self, call_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(P + f"call:{call_id}")
        return None if raw is None else dict(json.loads(raw))

    async def _step(
        self,
        step: Callable[[LocalBook], Awaitable[T]],
        *,
        calls: Iterable[str] = (),
        peers: Iterable[str] = (),
        citizens: Iterable[str] = (),
        identities: Iterable[tuple[PeerKind, str]] = (),
    ) -> T:
        """Run one book step on the calls it may touch, and store what changed."""
        async with self._lock():
            call_ids = set(calls) | await self._calls_of(list(peers), list(citizens), identities)
            docs = await self._docs(call_ids)
            scratch = self._fill(docs)
            result = await step(scratch)
            await self._store(docs, scratch)
            return result

    async def _calls_of(
        self, peers: list[str], citizens: list[str], identities: Iterable[tuple[PeerKind, str]]
    ) -> set[str]:
        """The live calls of these peers, citizens and identities (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        if peers:
            pipe.hmget(P + "callof:peer", peers)
        if citizens:
            pipe.hmget(P + "callof:citizen", citizens)
        for kind, identity in identities:
            pipe.smembers(_ident_key(kind, identity))
        found: set[str] = set()
        for ids in await pipe.execute() if len(pipe) else ():
            found.update(i for i in ids if i)
        return found

    async def _scratch(self, *, call_ids: Iterable[str]) -> LocalBook:
        return self._fill(await self._docs(set(call_ids)))

    async def _docs(self, call_ids: set[str]) -> dict[str, dict[str, Any]]:
        ids = sorted(call_ids)
        if not ids:
            return {}
        raw = await self.redis.mget([P + f"call:{c}" for c in ids])
        return {c: json.loads(r) for c, r in zip(ids, raw, strict=True) if r is not None}

    def _fill(self, docs: dict[str, dict[str, Any]]) -> LocalBook:
        scratch = LocalBook(self.max_participants)
        for doc in docs.values():
            profiles = {p: codec.profile_from_dict(v) for p, v in doc["profiles"].items()}
            call = codec.call_from_dict(doc["call"])
            scratch.load(call, codec.meta_from_dict(doc["meta"]), profiles)
        return scratch

    async def _store(self, before: dict[str, dict[str, Any]], scratch: LocalBook) -> None:
        """Write back the calls the step changed, created or ended, with their indexes."""
        after = {c.call_id: c for c in await scratch.live_calls()}
        written: dict[str, dict[str, Any]] = {}
        pipe = self.redis.pipeline(transaction=True)
        for call_id in set(before) | set(after):
            old_doc = before.get(call_id)
            old = None if old_doc is None else codec.call_from_dict(old_doc["call"])
            new = after.get(call_id)
            if new is None:
                assert old is not None and old_doc is not None
                self._remove(pipe, old, old_doc["host"])
                continue
            meta, profiles = scratch.facts(new)
            doc = {
                "call": codec.call_to_dict(new),
                "meta": codec.meta_to_dict(meta),
                "profiles": {p: codec.profile_to_dict(v) for p, v in profiles.items()},
                "host": self.node if old_doc is None else old_doc["host"],
            }
            written[call_id] = doc
            if doc == old_doc:
                continue
            pipe.set(P + f"call:{call_id}", codec.dumps(doc))
            self._index(pipe, old, new)
            if old_doc is None:
                pipe.sadd(P + f"hosted:{self.node}", call_id)
        await pipe.execute()
        for call_id in before:
            self._mirror.pop(call_id, None)
        self._mirror.update(written)

    @staticmethod
    def _index(pipe: Any, old: LiveCall | None, new: LiveCall) -> None:
        gone = set(old.participants) - set(new.participants) if old else set()
        if gone:
            pipe.hdel(P + "callof:peer", *gone)
        pipe.hset(P + "callof:peer", mapping=dict.fromkeys(new.participants, new.call_id))
        pipe.hset(P + "callof:citizen", new.citizen_id, new.call_id)
        if new.visit_id is not None:
            pipe.hset(P + "callof:visit", new.visit_id, new.call_id)
        old_idents = (
            {_ident_key(p.kind, p.identity_id) for p in old.participants.values()} if old else set()
        )
        new_idents = {_ident_key(p.kind, p.identity_id) for p in new.participants.values()}
        for key in old_idents - new_idents:
            pipe.srem(key, new.call_id)
        for key in new_idents - old_idents:
            pipe.sadd(key, new.call_id)

    @staticmethod
    def _remove(pipe: Any, old: LiveCall, host: str) -> None:
        pipe.delete(P + f"call:{old.call_id}")
        if old.participants:
            pipe.hdel(P + "callof:peer", *old.participants)
        pipe.hdel(P + "callof:citizen", old.citizen_id)
        if old.visit_id is not None:
            pipe.hdel(P + "callof:visit", old.visit_id)
        for key in {_ident_key(p.kind, p.identity_id) for p in old.participants.values()}:
            pipe.srem(key, old.call_id)
        pipe.srem(P + f"hosted:{host}", old.call_id)

    @asynccontextmanager
    async def _lock(self) -> AsyncIterator[None]:
        """The cluster-wide lock of call steps (held for a few Redis round trips)."""
        token = secrets.token_hex(8)
        delay = 0.0005
        while not await self.redis.set(LOCK_KEY, token, nx=True, px=LOCK_TTL_MS):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.01)
        try:
            yield
        finally:
            await self._delete_if_ours(keys=[LOCK_KEY], args=[token])


def _ident_key(kind: PeerKind, identity_id: str) -> str:
    """The calls a person or device has a seat in (ids are unique only within a kind)."""
    return P + f"ident:{kind.value}:{identity_id}"


def _team_ids(profile: PeerProfile) -> frozenset[int]:
    return profile.staff.team_ids if profile.staff is not None else frozenset()
