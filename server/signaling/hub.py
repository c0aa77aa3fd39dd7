"""Live signalling state of this process: sockets, kiosks online, subscriptions, timers.

The pure call state is the ``RoomRegistry``; this object adds what needs I/O: which socket is
which peer, presence fan-out, the ring/invite/grace timers and a short database session per
operation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..bus import Bus, InProcessBus
from ..metrics import Metrics
from ..rooms import store
from ..rooms.registry import LiveCall, PeerKind, RoomRegistry
from ..settings import Settings
from ..turn import IceServerDict, ice_servers, mint_turn_credential
from .messages import CloseCode, IceServer, Presence, PresenceEntry
from .peer import Peer, PeerProfile


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Facts about a live call that the registry (pure, ids only) does not hold."""

    citizen_db_id: int
    visit_id: int | None
    visit_type: str | None
    camera_off: bool
    auto_answer_after_s: int | None = None  # repeated when a ringing kiosk resumes
    ring_timeout_s: int = 45  # the organisation's choice, fixed when the ring starts


logger = logging.getLogger(__name__)
TimerKey = tuple[str, str, str]


class Hub:
    """Everything live about signalling in this process."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self.tz = ZoneInfo(settings.timezone)
        self.registry = RoomRegistry(max_participants=settings.max_call_participants)
        self.peers: dict[str, Peer] = {}
        self.bus: Bus = InProcessBus(self.peers)
        self.kiosk_peers: dict[str, str] = {}  # citizen id → the kiosk's peer id
        self.staff_peers: dict[str, set[str]] = {}  # staff id → peer ids (tabs)
        self.watchers: dict[str, set[str]] = {}  # citizen id → subscribed staff peer ids
        self.seats: dict[str, PeerProfile] = {}  # peer id → profile, for every seat in a call
        self.calls: dict[str, CallMeta] = {}  # call id → what the database knows of it
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- database --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A short session in one transaction (one per operation, never per socket)."""
        async with self.sessionmaker.begin() as session:
            yield session

    # -- peers -----------------------------------------------------------------------------

    async def attach(self, peer: Peer) -> None:
        """Register an authenticated socket; a kiosk replaces its own older socket."""
        self.peers[peer.peer_id] = peer
        profile = peer.profile
        if profile.kind is PeerKind.STAFF:
            self.staff_peers.setdefault(profile.identity_id, set()).add(peer.peer_id)
        elif profile.citizen_id is not None:
            await self._replace_kiosk(profile.citizen_id, peer)

    async def _replace_kiosk(self, citizen_id: str, peer: Peer) -> None:
        old_id = self.kiosk_peers.get(citizen_id)
        self.kiosk_peers[citizen_id] = peer.peer_id
        old = self.peers.get(old_id) if old_id else None
        if old is not None and old is not peer:
            await old.ws.close(code=CloseCode.REPLACED, message=b"replaced by a newer socket")
        if peer.profile.kiosk_db_id is not None:
            await self.mark_seen(peer.profile.kiosk_db_id)
        await self.publish_presence([citizen_id])

    async def detach(self, peer: Peer) -> None:
        """Forget a closed socket: presence, subscriptions, indexes."""
        self.peers.pop(peer.peer_id, None)
        self.subscribe(peer, ())
        profile = peer.profile
        if profile.kind is PeerKind.STAFF:
            tabs = self.staff_peers.get(profile.identity_id, set())
            tabs.discard(peer.peer_id)
            if not tabs:
                self.staff_peers.pop(profile.identity_id, None)
        elif profile.citizen_id and self.kiosk_peers.get(profile.citizen_id) == peer.peer_id:
            del self.kiosk_peers[profile.citizen_id]
            if profile.kiosk_db_id is not None:
                await self.mark_seen(profile.kiosk_db_id)
            await self.publish_presence([profile.citizen_id])

    async def close_staff(self, staff_id: int, *, session_id: int | None = None) -> None:
        """Close a staff member's sockets (all, or one login session's) with 1008: after a
        logout or a deactivation no open tab may ring anyone."""
        for peer_id in list(self.staff_peers.get(str(staff_id), ())):
            peer = self.peers.get(peer_id)
            staff = peer.profile.staff if peer is not None else None
            if peer is None or staff is None:
                continue
            if session_id is None or staff.session_id == session_id:
                await peer.ws.close(code=CloseCode.POLICY_VIOLATION, message=b"logged out")

    async def mark_seen(self, kiosk_id: int) -> None:
        """Record the tablet's last-seen time; a database hiccup must not break presence."""
        try:
            async with self.transaction() as session:
                await store.mark_kiosk_seen(session, kiosk_id)
        except Exception:
            logger.exception("could not record last-seen of kiosk %s", kiosk_id)

    def kiosk_peer(self, citizen_id: str) -> Peer | None:
        """The citizen's kiosk socket, if online."""
        peer_id = self.kiosk_peers.get(citizen_id)
        return self.peers.get(peer_id) if peer_id else None

    # -- presence --------------------------------------------------------------------------

    def subscribe(self, peer: Peer, citizen_ids: Iterable[str]) -> None:
        """Replace ``peer``'s presence subscription."""
        for citizen_id in peer.subscriptions:
            watchers = self.watchers.get(citizen_id)
            if watchers is not None:
                watchers.discard(peer.peer_id)
                if not watchers:
                    del self.watchers[citizen_id]
        peer.subscriptions = frozenset(citizen_ids)
        for citizen_id in peer.subscriptions:
            self.watchers.setdefault(citizen_id, set()).add(peer.peer_id)

    async def presence_entries(self, citizen_ids: list[str]) -> list[PresenceEntry]:
        """Current presence of these citizens' kiosks."""
        async with self.transaction() as session:
            seen = await store.kiosks_last_seen(session, [int(c) for c in citizen_ids])
        return [
            PresenceEntry(
                citizen_id=c,
                online=c in self.kiosk_peers,
                last_seen=seen.get(int(c)),
                in_call=self.registry.call_of_citizen(c) is not None,
            )
            for c in citizen_ids
        ]

    async def publish_presence(self, citizen_ids: Iterable[str]) -> None:
        """Tell subscribed staff about a change for these citizens."""
        watched = [c for c in citizen_ids if self.watchers.get(c)]
        if not watched:
            return
        entries = await self.presence_entries(watched)
        for entry in entries:
            await self.bus.fan_out(
                self.watchers.get(entry.citizen_id, ()), Presence(entries=(entry,))
            )

    # -- sending ---------------------------------------------------------------------------

    def staff_of_team(self, team_id: int) -> list[str]:
        """Peer ids of every connected staff member of ``team_id``."""
        return [
            peer_id
            for peer_id, peer in list(self.peers.items())
            if peer.profile.staff is not None and team_id in peer.profile.staff.team_ids
        ]

    async def notify_team(self, team_id: int, message: BaseModel) -> None:
        """Push an alert or a list update to the team's open consoles."""
        await self.bus.fan_out(self.staff_of_team(team_id), message)

    async def to_call(
        self, call: LiveCall, message: BaseModel, *, exclude: str | None = None
    ) -> None:
        """Send to every participant of a call snapshot except ``exclude``."""
        await self.bus.fan_out((p for p in call.participants if p != exclude), message)

    def ice_for(self, peer_id: str) -> tuple[IceServer, ...]:
        """A fresh ICE server list with TURN credentials minted for this peer."""
        return tuple(IceServer.model_validate(s) for s in self.ice_dicts(peer_id))

    def ice_dicts(self, peer_id: str) -> list[IceServerDict]:
        """The same list as plain dicts."""
        settings = self.settings
        credential = None
        if settings.turn_urls and settings.turn_secret:
            credential = mint_turn_credential(
                settings.turn_secret, peer_id, ttl_s=settings.turn_ttl_s
            )
        turn = settings.turn_urls if credential else ()
        return ice_servers(settings.stun_urls, turn, credential)

    # -- timers ----------------------------------------------------------------------------

    def start_timer(
        self, key: TimerKey, delay: float, action: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``action`` after ``delay`` seconds unless cancelled; replaces a timer of the key."""
        self.cancel_timer(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key, action)

    def _fire(self, key: TimerKey, action: Callable[[], Awaitable[None]]) -> None:
        self._timers.pop(key, None)
        self.spawn(action)

    def spawn(self, action: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``action`` as a task the hub owns (kept referenced, awaited on shutdown)."""
        task = asyncio.create_task(self._run(action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cleanup(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run clean-up to the end even if the caller is cancelled (a dropped connection)."""
        await asyncio.shield(self.spawn(action))

    async def _run(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except Exception:  # a timer or background write has nobody to report to but the log
            logger.exception("signalling background task failed")

    def time_left(self, key: TimerKey) -> float | None:
        """Seconds until a pending timer fires; None when there is none."""
        handle = self._timers.get(key)
        if handle is None:
            return None
        return max(0.0, handle.when() - asyncio.get_running_loop().time())

    def cancel_timer(self, key: TimerKey) -> None:
        """Stop a pending timer (no-op when it already fired)."""
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    async def close(self) -> None:
        """Stop every timer and wait for running timer tasks (app shutdown)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
