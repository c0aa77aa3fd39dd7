"""Live signalling of this process: its sockets, the timers, and delivery to peers and teams.

Who is connected and who sits in which call is the live-call book's (``rooms.book``); the hub
adds what needs sockets and the event loop: which socket is which peer, presence fan-out, the
ring/invite/grace timers and a short database session per operation. It is also the team feed
(``visits.updates.TeamFeed``) through which services tell the consoles what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..meetings.lobby import Lobby, LocalLobby
from ..metrics import Metrics
from ..models import utcnow
from ..rooms.book import CallBook, Over
from ..rooms.registry import LiveCall
from ..settings import Settings
from ..ttlcache import TtlCache
from ..turn import ice_servers_for
from ..visits import readiness
from ..visits.inbox import AlertRaised, InboxChange
from ..visits.updates import VisitUpdate
from ..vocabulary import PeerKind
from .bus import Bus, InProcessBus
from .errors import SignalingError, refusal_for
from .lastseen import LastSeen
from .messages import (
    AlertMessage,
    CloseCode,
    ErrorCode,
    IceServer,
    InboxChanged,
    Presence,
    PresenceEntry,
    VisitUpdated,
)
from .peer import Peer, PeerRef, sound_of

logger = logging.getLogger(__name__)
TimerKey = tuple[str, str, str]
TASKS_STOP_WITHIN_S = 5.0
# A ring re-checks the caller's login in the database at most this often per login. A logout
# or a deactivation closes the login's sockets at once (``close_staff``); this bounds how long
# a login removed behind the server's back (expiry, another process) may still ring.
LOGIN_RECHECK_S = 5.0
# Presence changes within this window reach each follower as one `presence` message.
PRESENCE_COALESCE_S = 0.05


class Hub:
    """Everything live about signalling in this process."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        book: CallBook,
        owner: str,
        bus: Callable[[dict[str, Peer]], Bus] = InProcessBus,
        lobby: Lobby | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self.book = book
        self.owner = owner  # who holds this process's calls in the database (leases.owner_id)
        self.peers: dict[str, Peer] = {}
        self.lobby: Lobby = lobby or LocalLobby()  # guests waiting to be let into meetings
        self.bus: Bus = bus(self.peers)  # the cluster's bus over Redis when there are nodes
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.seen = LastSeen(sessionmaker, settings.last_seen_flush_s)  # batched writes
        # Logins (by session id) found valid a moment ago: their staff ids.
        self.live_logins: TtlCache[int, int] = TtlCache(LOGIN_RECHECK_S, time.monotonic)
        # Ends of calls that could not be written (the database was away), with when they
        # ended: the lease loop writes them once it can (``calls.record_unwritten_ends``).
        self.unwritten_ends: dict[str, tuple[Over, dt.datetime]] = {}
        self._presence_due: set[str] = set()  # citizens whose presence changed, not yet told
        self._presence_timer: asyncio.TimerHandle | None = None

    def lease_until(self, now: dt.datetime) -> dt.datetime:
        """Until when this process vouches for a call it holds, from ``now``."""
        return now + dt.timedelta(seconds=self.settings.call_lease_s)

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
        older = await self.book.connect(peer.peer_id, peer.profile, peer.resume_token)
        if peer.guest is not None:
            await self.bus.describe(peer)  # the host may sit on another node
        if peer.profile.kind is not PeerKind.KIOSK or peer.profile.citizen_id is None:
            return
        if older:
            await self.bus.close(older, CloseCode.REPLACED, "replaced by a newer socket")
        if peer.profile.kiosk_db_id is not None:
            peer.seen_at = self.mark_seen(peer.profile.kiosk_db_id, peer.profile.citizen_id)
        await self.publish_presence([peer.profile.citizen_id])

    async def detach(self, peer: PeerRef) -> None:
        """Forget a closed socket: presence, subscriptions, indexes."""
        self.peers.pop(peer.peer_id, None)
        if not await self.book.disconnect(peer.peer_id, peer.profile):
            return
        if peer.profile.kiosk_db_id is not None:
            self.mark_seen(peer.profile.kiosk_db_id, peer.profile.citizen_id)
        if peer.profile.citizen_id is not None:
            await self.publish_presence([peer.profile.citizen_id])

    async def close_staff(self, staff_id: int, *, session_id: int | None = None) -> None:
        """Close a staff member's sockets (all, or one login session's) with 1008: after a
        logout or a deactivation no open tab may ring anyone."""
        self.live_logins.forget(lambda staff: staff == staff_id)
        for peer_id in await self.book.staff_tabs(str(staff_id)):
            peer = await self.peer_ref(peer_id)
            staff = peer.profile.staff if peer is not None else None
            if peer is None or staff is None:
                continue
            if session_id is None or staff.session_id == session_id:
                await self.bus.close(peer_id, CloseCode.POLICY_VIOLATION, "logged out", banish=True)

    async def close_kiosk(self, citizen_id: int, *, keep_kiosk_id: int | None = None) -> None:
        """Close the citizen's tablet socket (``forbidden``, then 1008) unless it is ``keep``:
        a revoked or replaced tablet must stop at once."""
        await self.bus.forget_tablets(citizen_id)  # no node lets its token in from memory
        peer = await self.kiosk_peer(str(citizen_id))
        if peer is None or (
            keep_kiosk_id is not None and peer.profile.kiosk_db_id == keep_kiosk_id
        ):
            return
        error = SignalingError(
            ErrorCode.FORBIDDEN, "this tablet was revoked", close=CloseCode.POLICY_VIOLATION
        )
        notice = refusal_for(error, None).error.model_dump_json()
        code = CloseCode.POLICY_VIOLATION
        await self.bus.close(peer.peer_id, code, "tablet revoked", banish=True, notice=notice)

    def mark_seen(self, kiosk_id: int, citizen_id: str | None) -> dt.datetime:
        """Note the tablet's last-seen time (now, returned); written with others within a
        second or two."""
        now = utcnow()
        self.seen.note(kiosk_id, None if citizen_id is None else int(citizen_id), now)
        return now

    async def devices_changed(self, peer: Peer) -> None:
        """A tablet's devices changed: other nodes read them from the cluster's directory."""
        await self.bus.describe(peer)

    async def kiosk_peer(self, citizen_id: str) -> PeerRef | None:
        """The citizen's kiosk, if online (on this node or another)."""
        peer_id = await self.book.kiosk_peer(citizen_id)
        return await self.peer_ref(peer_id) if peer_id else None

    async def peer_ref(self, peer_id: str) -> PeerRef | None:
        """A connected peer: this process's socket, or one another node holds."""
        return self.peers.get(peer_id) or await self.bus.lookup(peer_id)

    # -- presence --------------------------------------------------------------------------

    async def presence_entries(self, citizen_ids: list[str]) -> list[PresenceEntry]:
        """Current presence of these citizens' kiosks."""
        online = await self.book.online_citizens(citizen_ids)
        kiosks = {c: await self.kiosk_peer(c) for c in citizen_ids if c in online}
        seen = await self._last_seen(citizen_ids, kiosks)
        return [
            PresenceEntry(
                citizen_id=c,
                online=c in online,
                last_seen=seen.get(int(c)),
                in_call=await self.book.call_of_citizen(c) is not None,
                sound=sound_of(kiosks.get(c)) if c in online else None,
            )
            for c in citizen_ids
        ]

    async def _last_seen(
        self, citizen_ids: list[str], kiosks: dict[str, PeerRef | None]
    ) -> dict[int, dt.datetime | None]:
        """Unwritten times first (they are the newest), then the connect time of a tablet
        online here; the database only for the rest (a presence change after every connect,
        ring and hang-up must not cost a transaction)."""
        ids = [int(c) for c in citizen_ids]
        seen: dict[int, dt.datetime | None] = dict(self.seen.pending(ids))
        for citizen_id, kiosk in kiosks.items():
            if isinstance(kiosk, Peer) and kiosk.seen_at is not None:
                seen.setdefault(int(citizen_id), kiosk.seen_at)
        rest = [c for c in ids if c not in seen]
        if rest:
            async with self.transaction() as session:
                seen.update(await readiness.last_seen(session, rest))
        return seen

    async def publish_presence(self, citizen_ids: Iterable[str]) -> None:
        """Tell subscribed staff about a change for these citizens: within
        ``PRESENCE_COALESCE_S``, together with the other changes meanwhile."""
        self._presence_due.update(citizen_ids)
        if self._presence_timer is None and self._presence_due:
            loop = asyncio.get_running_loop()
            self._presence_timer = loop.call_later(PRESENCE_COALESCE_S, self._presence_round)

    def _presence_round(self) -> None:
        self._presence_timer = None
        due, self._presence_due = self._presence_due, set()
        self.spawn(lambda: self._publish_presence(due))

    async def _publish_presence(self, citizen_ids: Collection[str]) -> None:
        """One ``presence`` per follower with every change it follows (a mass disconnect of
        thousands of tablets is a handful of messages per console, not one per tablet)."""
        watchers = {c: w for c in sorted(citizen_ids) if (w := await self.book.watchers(c))}
        if not watchers:
            return
        entries = await self.presence_entries(list(watchers))
        per_follower: dict[str, list[PresenceEntry]] = {}
        for entry in entries:
            for follower in watchers[entry.citizen_id]:
                per_follower.setdefault(follower, []).append(entry)
        together: dict[tuple[str, ...], list[str]] = {}  # followers of the same citizens
        for follower, theirs in per_follower.items():
            together.setdefault(tuple(e.citizen_id for e in theirs), []).append(follower)
        by_citizen = {e.citizen_id: e for e in entries}
        for citizens, followers in together.items():
            message = Presence(entries=tuple(by_citizen[c] for c in citizens))
            await self.bus.fan_out(followers, message)

    # -- sending ---------------------------------------------------------------------------

    async def notify_team(self, team_id: int, message: BaseModel) -> None:
        """Push an alert or a list update to the team's open consoles."""
        await self.bus.fan_out(await self.book.team_peers(team_id), message)

    async def visit_changed(self, update: VisitUpdate) -> None:
        """The team feed: a visit changed status (``visit-updated``)."""
        message = VisitUpdated(
            visit_id=str(update.visit_id),
            citizen_id=str(update.citizen_id),
            team_id=str(update.team_id),
            status=update.status.value,
        )
        await self.notify_team(update.team_id, message)

    async def alert_raised(self, alert: AlertRaised) -> None:
        """The team feed: an alert was stored (``alert``)."""
        await self.notify_team(alert.team_id, _alert_message(alert))

    async def inbox_changed(self, change: InboxChange) -> None:
        """The team feed: an inbox item was added or changed state (``inbox-changed``)."""
        message = InboxChanged(
            item_id=str(change.item_id), team_id=str(change.team_id), state=change.state.value
        )
        await self.notify_team(change.team_id, message)

    async def staff_alerted(self, staff_ids: Collection[int], alert: AlertRaised) -> None:
        """The team feed: an alert for these staff members' open consoles, wherever their team."""
        peer_ids = [p for s in staff_ids for p in await self.book.staff_tabs(str(s))]
        await self.bus.fan_out(peer_ids, _alert_message(alert))

    async def to_call(
        self, call: LiveCall, message: BaseModel, *, exclude: str | None = None
    ) -> None:
        """Send to every participant of a call snapshot except ``exclude``."""
        await self.bus.fan_out((p for p in call.participants if p != exclude), message)

    def ice_for(self, peer_id: str) -> tuple[IceServer, ...]:
        """A fresh ICE server list with TURN credentials minted for this peer."""
        servers = ice_servers_for(self.settings, peer_id)
        return tuple(IceServer.model_validate(s) for s in servers)

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
        """Start clean-up that runs to the end whatever happens to the caller (a dropped
        connection cancels its handler), as a task the hub owns; the caller does not wait
        for it. (Waiting through ``asyncio.shield`` cost a future and two callbacks per
        closed socket: about as much again as the clean-up itself in a mass disconnect.)"""
        self.spawn(action)

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

    @property
    def timer_keys(self) -> frozenset[TimerKey]:
        """The pending timers (ring, invitation and grace timers, by call and peer)."""
        return frozenset(self._timers)

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
        if self._presence_timer is not None:  # nobody is left to tell
            self._presence_timer.cancel()
            self._presence_timer = None
        self._presence_due.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:  # bounded: a cancel swallowed inside redis-py must not hang the stop
            await asyncio.wait(list(self._tasks), timeout=TASKS_STOP_WITHIN_S)
        await self.seen.close()  # after the clean-ups above: their disconnects are written


def _alert_message(alert: AlertRaised) -> AlertMessage:
    """The wire form of an alert (the message is cut to the wire's 500 characters)."""
    return AlertMessage(
        alert_id=str(alert.alert_id),
        team_id=str(alert.team_id),
        citizen_id=None if alert.citizen_id is None else str(alert.citizen_id),
        visit_id=None if alert.visit_id is None else str(alert.visit_id),
        kind=alert.kind.value,
        message=alert.message[:500],
        created_at=alert.created_at,
    )


# Declared here, not in keys.py: keys.py would have to import the hub, which needs keys.py.
hub_key = web.AppKey("hub_key", Hub)
