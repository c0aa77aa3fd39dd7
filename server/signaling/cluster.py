"""Several server processes (nodes) over Redis: who is alive, delivery between them, and what
happens when one dies.

Used when ``SCREENVISIT_REDIS_URL`` is set (``signaling.setup``); otherwise nothing here runs.
The design follows LiveKit's: every node registers itself with its load and a heartbeat
(``sv:node:{id}`` expires after ``node_expiry_s``; ``sv:nodes`` lists them); presence and the
live-call book live in Redis (``rooms.redis_book``); a message for a peer whose socket another
node holds is published on that node's channel (``sv:to:{node}``) and written there; each call
is hosted by the node that rang it, which renews its database lease.

When a node stops heartbeating, the first live node to notice sweeps it (one sweeper per dead
node, by a Redis lock): the dead node's ringing calls end (nobody could hear the ring time
out), its answered calls are taken over — hosted here, their database leases renewed from
here — and every peer it held is disconnected as if its socket had dropped: presence goes
offline, and seats in calls wait for the reconnect grace, so a tablet that reconnects through
nginx to another node resumes its call. Presence thus converges within the heartbeat expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from ..meetings.lobby import GuestPass
from ..models import utcnow
from ..rooms import store
from ..rooms.codec import dumps, profile_from_dict
from ..rooms.fallback_book import FallbackBook
from ..rooms.redis_book import P
from ..shared_state import REDIS_AWAY
from ..vocabulary import CallState
from . import calls, session
from .bus import close_local
from .hub import Hub
from .peer import DeviceFacts, Peer, PeerRef, RemotePeer

logger = logging.getLogger(__name__)
NODES = P + "nodes"
EVERYONE = P + "to:all"  # what every node must hear (a revoked tablet's token)
STOP_WITHIN_S = 5.0  # how long a stopping node waits for its Redis loops
INBOX_POLL_S = 1.0  # the inbox's longest wait for a message before it looks up
PEER_NODE_CACHE = 100_000  # peer ids never move between nodes: a resumed socket gets a new id


def channel(node: str) -> str:
    """The pub/sub channel a node reads its peers' messages from."""
    return P + f"to:{node}"


class RedisBus:
    """The cluster's bus: local peers are written to, others published to their node."""

    def __init__(
        self,
        peers: Mapping[str, Peer],
        redis: Redis,
        book: FallbackBook,
        forget: Callable[[int], None],
    ) -> None:
        self._peers = peers
        self._forget = forget  # this node's cache of tablet tokens
        self._redis: Any = redis  # Any: redis-py's annotations ignore decode_responses
        self._fallback = book
        self._book = book.shared
        self._nodes: dict[str, str] = {}  # peer id → node, cached

    async def send(self, peer_id: str, message: BaseModel) -> None:
        """Deliver to one peer, here or on its node."""
        await self.fan_out((peer_id,), message)

    async def fan_out(self, peer_ids: Iterable[str], message: BaseModel) -> None:
        """Serialise once; write to local peers; one publish per other node."""
        text = message.model_dump_json()
        remote: dict[str, list[str]] = {}
        for peer_id in list(peer_ids):
            peer = self._peers.get(peer_id)
            if peer is not None:
                await peer.send_text(text)
                continue
            node = await self._node_of(peer_id)
            if node is not None and node != self._book.node:
                remote.setdefault(node, []).append(peer_id)
        for node, ids in remote.items():
            await self._publish(channel(node), {"to": ids, "text": text})

    async def lookup(self, peer_id: str) -> PeerRef | None:
        """A peer on another node, from the cluster's directory (none while Redis is away)."""
        if self._fallback.degraded:
            return None
        try:
            record = await self._book.peer_record(peer_id)
        except REDIS_AWAY:
            return None
        if not record or record.get("node") == self._book.node:
            return None
        device, guest = record.get("device"), record.get("guest")
        return RemotePeer(
            peer_id=peer_id,
            profile=profile_from_dict(json.loads(record["profile"])),
            resume_token=record.get("resume", ""),
            sender=self,
            device=None if device is None else DeviceFacts(**json.loads(device)),
            guest=None if guest is None else GuestPass(**json.loads(guest)),
        )

    async def describe(self, peer: Peer) -> None:
        """Record a local peer's devices (a tablet) or invite (a guest) where other nodes read
        them."""
        facts: dict[str, str] = {}
        if peer.device is not None:
            facts["device"] = dumps(asdict(peer.device))
        if peer.guest is not None:
            facts["guest"] = dumps(asdict(peer.guest))
        if facts and not self._fallback.degraded:
            with contextlib.suppress(*REDIS_AWAY):  # written again when the node rejoins
                await self._book.annotate(peer.peer_id, **facts)

    async def close(
        self, peer_id: str, code: int, reason: str, *, banish: bool = False, notice: str = ""
    ) -> None:
        """Close a socket here, or ask its node to."""
        peer = self._peers.get(peer_id)
        if peer is not None:
            await close_local(peer, code, reason, banish=banish, notice=notice)
            return
        node = await self._node_of(peer_id)
        if node is not None and node != self._book.node:
            close = {"peer": peer_id, "code": code, "reason": reason, "banish": banish}
            await self._publish(channel(node), {"close": close, "notice": notice})

    async def forget_tablets(self, citizen_id: int) -> None:
        """Tell every node to forget the citizen's tablet tokens (while Redis is away the
        others keep theirs for at most ``handshake_cache_s``)."""
        await self._publish(EVERYONE, {"forget": citizen_id})

    async def _publish(self, to: str, data: dict[str, Any]) -> None:
        """Publish to other nodes; while Redis is away they are out of reach, so it is dropped
        (a call's peers there hear of it when their node sweeps or resumes them)."""
        if self._fallback.degraded:
            return
        try:
            await self._redis.publish(to, dumps(data))
        except REDIS_AWAY:
            logger.warning("Redis unreachable: a message for another node was dropped")

    async def deliver(self, raw: str) -> None:
        """A message another node published for this node's peers (or for every node)."""
        data = json.loads(raw)
        if "forget" in data:
            self._forget(int(data["forget"]))
            return
        close = data.get("close")
        if close is not None:
            peer = self._peers.get(close["peer"])
            if peer is not None:
                banish = bool(close["banish"])
                notice = str(data.get("notice") or "")
                await close_local(
                    peer, int(close["code"]), close["reason"], banish=banish, notice=notice
                )
            return
        text = data["text"]
        for peer_id in data["to"]:
            peer = self._peers.get(peer_id)
            if peer is not None:
                await peer.send_text(text)

    async def _node_of(self, peer_id: str) -> str | None:
        node = self._nodes.get(peer_id)
        if node is None:
            if self._fallback.degraded:
                return None
            try:
                node = await self._book.node_of(peer_id)  # only the node, not the whole record
            except REDIS_AWAY:
                return None
            if node is not None:
                if len(self._nodes) >= PEER_NODE_CACHE:
                    self._nodes.clear()
                self._nodes[peer_id] = node
        return node


class Node:
    """This process as a node of the cluster: heartbeat, inbox, and sweeping dead nodes."""

    def __init__(self, hub: Hub, redis: Redis, book: FallbackBook, bus: RedisBus) -> None:
        self.hub = hub
        self.redis: Any = redis
        self.book = book
        self.shared = book.shared
        self.bus = bus
        self.id = book.node
        self.heartbeat_s = hub.settings.node_heartbeat_s
        self.expiry_ms = int(hub.settings.node_expiry_s * 1000)
        self._registered = False
        self._beating_since: float | None = None  # since when every beat reached Redis
        self.rejoined = asyncio.Event()  # the inbox subscribes afresh

    async def beat(self) -> None:
        """Say this node lives, with its load; after an outage (or a Redis that restarted
        empty, or a sweep by another node) write back what this node holds."""
        try:
            added = await self._register()
        except REDIS_AWAY:
            self._beating_since = None
            await self.book.fall_back()
            raise
        if self.book.degraded or (added and self._registered):
            await self.book.fall_back()  # a Redis that forgot us: rebuild it from this node
            await self.book.rejoin()
            await self.redis.delete(P + f"sweep:{self.id}")  # a sweeper of ours is history
            self.rejoined.set()
        self._registered = True
        if self._beating_since is None:
            self._beating_since = time.monotonic()
        self.shared.forget_calls_without(set(self.hub.peers))

    async def _register(self) -> bool:
        load = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "sockets": len(self.hub.peers),
            "calls": await self.redis.scard(P + f"hosted:{self.id}"),
            "at": time.time(),
        }
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(P + f"node:{self.id}", dumps(load), px=self.expiry_ms)
        pipe.sadd(NODES, self.id)
        _, added = await pipe.execute()
        return bool(added)

    def may_sweep(self) -> bool:
        """Only a node that has reached Redis for a whole expiry judges others dead: after an
        outage every node's heartbeat has lapsed, and each must first get its own beat in."""
        since = self._beating_since
        return since is not None and time.monotonic() - since >= self.expiry_ms / 1000

    async def dead_nodes(self) -> list[str]:
        """Registered nodes whose heartbeat expired."""
        nodes = sorted(n for n in await self.redis.smembers(NODES) if n != self.id)
        if not nodes:
            return []
        alive = await self.redis.mget([P + f"node:{n}" for n in nodes])
        return [n for n, beat in zip(nodes, alive, strict=True) if beat is None]

    async def sweep(self, dead: str) -> None:
        """Take over a dead node's calls and disconnect its peers (one sweeper per node)."""
        if not await self.redis.set(P + f"sweep:{dead}", self.id, nx=True, ex=120):
            return
        logger.warning("node %s stopped heartbeating: taking over its calls and peers", dead)
        await self._take_calls(dead)
        for peer_id, profile in await self.shared.peers_of(dead):
            gone = RemotePeer(peer_id, profile, "", self.bus)
            await session.disconnected(self.hub, gone)
        await self.shared.forget_node(dead)
        await self.redis.srem(NODES, dead)

    async def _take_calls(self, dead: str) -> None:
        taken: list[str] = []
        for call in await self.shared.hosted_by(dead):
            if call.state is CallState.RINGING:  # its ring timer died with the node
                over = await self.book.abort(call.call_id)
                if over is not None:
                    await calls.finish(self.hub, over)
            elif await self.shared.take_over(call.call_id, dead):
                taken.append(call.call_id)
        if taken:
            async with self.hub.transaction() as db:
                await store.take_over_calls(db, taken, self.id, self.hub.lease_until(utcnow()))

    async def leave(self) -> None:
        """A graceful stop: no longer a node (its sockets and calls were closed already)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(P + f"node:{self.id}")
        pipe.srem(NODES, self.id)
        await pipe.execute()


async def _heartbeat_forever(node: Node, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await node.beat()
            for dead in await node.dead_nodes() if node.may_sweep() else ():
                await node.sweep(dead)
        except REDIS_AWAY:  # the node serves its own sockets; the next beat tries again
            logger.warning("cluster heartbeat: Redis unreachable")
        except Exception:
            logger.exception("cluster heartbeat failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), node.heartbeat_s)


async def _read_inbox(redis: Redis, node: Node, stop: asyncio.Event) -> None:
    """Deliver what other nodes publish for this one. It polls once a second rather than
    blocking, so that it notices a stop and a rejoin (after an outage the subscription may sit
    on a connection that died without a word: it subscribes afresh)."""
    while not stop.is_set():
        node.rejoined.clear()
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel(node.id), EVERYONE)
                while not stop.is_set() and not node.rejoined.is_set():
                    message = await pubsub.get_message(timeout=INBOX_POLL_S)
                    if message is not None:
                        await node.bus.deliver(message["data"])
        except asyncio.CancelledError:
            raise
        except REDIS_AWAY:  # Redis away: subscribe again once it answers
            logger.warning("cluster inbox: Redis unreachable; resubscribing")
            await asyncio.sleep(0.5)
        except Exception:
            logger.exception("cluster inbox failed; resubscribing")
            await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def running(node: Node, redis: Redis) -> AsyncIterator[None]:
    """Heartbeat and inbox for the app's lifetime (a node starts even while Redis is away: its
    sockets hear `try_again` until Redis is back, and the loops keep trying)."""
    with contextlib.suppress(Exception):
        await node.beat()
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_read_inbox(redis, node, stop)),
        asyncio.create_task(_heartbeat_forever(node, stop)),
    ]
    try:
        yield
    finally:
        # The loops end on the event as well as on the cancel, and the wait is bounded:
        # redis-py may swallow a cancellation that lands inside one of its calls (seen: a
        # heartbeat cancelled mid-beat slept on, and the app's shutdown waited for ever).
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=STOP_WITHIN_S)
        with contextlib.suppress(Exception):
            await node.leave()
