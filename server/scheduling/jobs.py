"""Background scheduling jobs: generation, and a tick of readiness, ladder, watchdog, overdue
inbox items and notices.

`Scheduler.generate(now)` and `Scheduler.tick(now)` each run one step with an explicit `now`
(tests drive them directly); `scheduler_ctx` runs them periodically for the app's lifetime.
The ladder reads each organisation's retry-ladder settings once per tick (see `ladder`).
Every step is one transaction under a job lock, and all state is in the database, so any number
of processes may run them and a restart resumes where the rows say.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..keys import book_key, sessionmaker_key, settings_key, team_feed_key
from ..models import utcnow
from ..settings import Settings
from ..visits.inbox import AlertRaised
from ..visits.updates import SilentFeed, TeamFeed
from . import notifier as outbox
from .generation import GenerationResult, generate
from .joblock import hold_job_lock
from .ladder import LadderPolicy
from .ladder_run import run_ladder
from .notifier import Notifier, make_notifier
from .overdue import Overdue, escalate_overdue
from .retention import Limits, PurgeReport
from .retention import run as run_retention
from .tablet_alerts import OnlineCitizens, check_readiness

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TickReport:
    """What one tick did."""

    alerts: list[AlertRaised] = field(default_factory=list)
    retries: int = 0
    overdue: list[Overdue] = field(default_factory=list)
    delivered: int = 0


async def _nobody_online(citizen_ids: Collection[int]) -> set[int]:
    """Without the live-call book nobody is known to be connected."""
    return set()


@dataclass
class Scheduler:
    """The scheduling jobs of one process."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    notifier: Notifier
    feed: TeamFeed = field(default_factory=SilentFeed)
    online: OnlineCitizens = _nobody_online

    @property
    def policy(self) -> LadderPolicy:
        """The ladder's organisation-wide numbers from the settings."""
        return LadderPolicy(
            task_due=dt.timedelta(minutes=self.settings.missed_task_due_min),
            physical_grace=dt.timedelta(minutes=self.settings.physical_outcome_grace_min),
        )

    async def generate(self, now: dt.datetime) -> GenerationResult:
        """Generate the rolling horizon for every plan."""
        settings = self.settings
        async with self.sessionmaker.begin() as session:
            return await generate(
                session, now, zone=settings.zone, horizon_days=settings.scheduling_horizon_days
            )

    async def tick(self, now: dt.datetime) -> TickReport:
        """Readiness alerts, the ladder and the watchdog, then notice delivery."""
        report = TickReport()
        zone = self.settings.zone
        async with self.sessionmaker.begin() as session:
            await hold_job_lock(session, "ladder", now)
            lead = dt.timedelta(minutes=self.settings.readiness_lead_min)
            report.alerts += await check_readiness(session, now, lead, self.online, zone)
            ladder = await run_ladder(session, now, self.policy, zone)
            report.alerts += ladder.alerts
            report.retries = ladder.retries
            report.overdue = await escalate_overdue(session, now)
        # After the commit: the consoles may load what they are told about.
        for alert in report.alerts:
            await self.feed.alert_raised(alert)
        for update in ladder.updated:
            await self.feed.visit_changed(update)
        for overdue in report.overdue:
            await self.feed.inbox_changed(overdue.change)
            await self.feed.staff_alerted(overdue.staff_ids, overdue.alert)
        report.delivered = await self.deliver(now)
        return report

    async def retention(self, now: dt.datetime) -> PurgeReport:
        """Delete what the retention limits no longer keep (recorded in the audit chain)."""
        report = await run_retention(self.sessionmaker, Limits.of(self.settings), now)
        logger.info("retention purge: %s", ", ".join(report.lines()))
        return report

    async def deliver(self, now: dt.datetime) -> int:
        """Deliver pending relative notices; each attempt is claimed in its own transaction."""
        async with self.sessionmaker() as session:
            notices = await outbox.pending(session)
        delivered = 0
        for notice in notices:
            async with self.sessionmaker.begin() as session:
                if not await outbox.claim(session, notice.notification_id):
                    continue
            error = None
            try:
                await self.notifier.send(notice)
                delivered += 1
            except (OSError, outbox.NotDeliverable) as exc:
                error = f"{type(exc).__name__}: {exc}"
            async with self.sessionmaker.begin() as session:
                await outbox.mark(session, notice.notification_id, now, error)
        return delivered


SHUTDOWN_GRACE_S = 10.0


async def _every(
    interval: float,
    step: Callable[[dt.datetime], Awaitable[object]],
    stop: asyncio.Event,
    *,
    first_delay: float = 0,
) -> None:
    """Run `step(now)` after `first_delay`, then every `interval` seconds, until `stop` is set;
    a failed run is logged and the next one still comes."""
    if await _stopped(stop, first_delay):
        return
    while True:
        try:
            await step(utcnow())
        except asyncio.CancelledError:
            raise
        except Exception:  # a job must outlive one bad run (DB restart, bad row)
            logger.exception("scheduling job %s failed", getattr(step, "__name__", step))
        if await _stopped(stop, interval):
            return


async def _stopped(stop: asyncio.Event, delay: float) -> bool:
    """Wait up to `delay` seconds; True as soon as `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        return False
    return True


def scheduler_for(app: web.Application) -> Scheduler:
    """A scheduler wired to the app's database, team feed and live-call book."""
    settings = app[settings_key]
    book = app[book_key]

    async def online(citizen_ids: Collection[int]) -> set[int]:
        connected = await book.online_citizens(str(c) for c in citizen_ids)
        return {int(c) for c in connected}

    notifier = make_notifier(settings)
    return Scheduler(settings, app[sessionmaker_key], notifier, app[team_feed_key], online)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run generation and the tick in the background for the app's lifetime (when enabled)."""
    settings = app[settings_key]
    if not settings.scheduler_enabled:
        yield
        return
    scheduler = scheduler_for(app)
    interval = settings.scheduling_tick_interval_s
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            _every(settings.scheduling_generate_interval_s, scheduler.generate, stop)
        ),
        # The first tick waits one interval: a fresh process first lets tablets reconnect.
        asyncio.create_task(_every(interval, scheduler.tick, stop, first_delay=interval)),
    ]
    if Limits.of(settings).any():
        every = settings.retention_interval_s
        tasks.append(asyncio.create_task(_every(every, scheduler.retention, stop, first_delay=60)))
    yield
    # Let a run in progress finish its transaction rather than cancelling it mid-query;
    # only a run that hangs past the grace period is cancelled.
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
