"""Background scheduling jobs: generation, and a tick of readiness, ladder, watchdog and notices.

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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..keys import hub_key, sessionmaker_key, settings_key
from ..models import VisitStatus, utcnow
from ..settings import Settings
from ..signaling.messages import AlertMessage, VisitUpdated
from . import notifier as outbox
from .escalation import AlertRaised
from .generation import GenerationResult, generate
from .joblock import hold_job_lock
from .ladder import LadderPolicy, run_ladder
from .notifier import Notifier, make_notifier
from .readiness import IsOnline, check_readiness

logger = logging.getLogger(__name__)
Push = Callable[[int, AlertMessage | VisitUpdated], Awaitable[None]]


@dataclass(slots=True)
class TickReport:
    """What one tick did."""

    alerts: list[AlertRaised] = field(default_factory=list)
    retries: int = 0
    delivered: int = 0


async def _no_push(team_id: int, message: AlertMessage | VisitUpdated) -> None:
    """Without a signalling hub nobody is listening live; the rows are still written."""


def _never_online(citizen_id: int) -> bool:
    return False


@dataclass
class Scheduler:
    """The scheduling jobs of one process."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    notifier: Notifier
    push: Push = _no_push
    is_online: IsOnline = _never_online

    @property
    def policy(self) -> LadderPolicy:
        """The ladder's organisation-wide numbers from the settings."""
        return LadderPolicy(
            task_due=dt.timedelta(minutes=self.settings.missed_task_due_min),
            physical_grace=dt.timedelta(minutes=self.settings.physical_outcome_grace_min),
        )

    async def generate(self, now: dt.datetime) -> GenerationResult:
        """Generate the rolling horizon for every plan."""
        async with self.sessionmaker.begin() as session:
            return await generate(session, now, horizon_days=self.settings.scheduling_horizon_days)

    async def tick(self, now: dt.datetime) -> TickReport:
        """Readiness alerts, the ladder and the watchdog, then notice delivery."""
        report = TickReport()
        async with self.sessionmaker.begin() as session:
            await hold_job_lock(session, "ladder", now)
            lead = dt.timedelta(minutes=self.settings.readiness_lead_min)
            report.alerts += await check_readiness(session, now, lead, self.is_online)
            ladder = await run_ladder(session, now, self.policy)
            report.alerts += ladder.alerts
            report.retries = sum(v.status == VisitStatus.NOT_ANSWERED for v in ladder.updated)
            updates = [
                VisitUpdated(
                    visit_id=str(v.id),
                    citizen_id=str(v.citizen_id),
                    team_id=str(v.team_id),
                    status=v.status.value,
                )
                for v in ladder.updated
            ]
        await self._push(report.alerts, updates)
        report.delivered = await self.deliver(now)
        return report

    async def _push(self, alerts: list[AlertRaised], updates: list[VisitUpdated]) -> None:
        """Tell the teams' open consoles, after the facts are committed."""
        for alert in alerts:
            message = AlertMessage(
                alert_id=str(alert.alert_id),
                team_id=str(alert.team_id),
                citizen_id=None if alert.citizen_id is None else str(alert.citizen_id),
                visit_id=None if alert.visit_id is None else str(alert.visit_id),
                kind=alert.kind,
                message=alert.message,
                created_at=alert.created_at,
            )
            await self.push(alert.team_id, message)
            if alert.visit_id is not None and alert.citizen_id is not None:
                status = VisitUpdated(
                    visit_id=str(alert.visit_id),
                    citizen_id=str(alert.citizen_id),
                    team_id=str(alert.team_id),
                    status="missed" if alert.kind == "missed_visit" else "planned",
                )
                await self.push(alert.team_id, status)
        for update in updates:
            await self.push(int(update.team_id), update)

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
    """A scheduler wired to the app's database and, when present, its signalling hub."""
    settings = app[settings_key]
    hub = app.get(hub_key)

    async def push(team_id: int, message: AlertMessage | VisitUpdated) -> None:
        if hub is not None:
            await hub.notify_team(team_id, message)

    def is_online(citizen_id: int) -> bool:
        return hub is not None and str(citizen_id) in hub.kiosk_peers

    return Scheduler(settings, app[sessionmaker_key], make_notifier(settings), push, is_online)


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
