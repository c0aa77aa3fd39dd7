"""The notice job: reminders that came due, changes to visits the citizen was told of, screen
visits whose window is passing with no call, SMS delivery, and relatives' e-mails that carry a
personal link (made at delivery: the outbox row never holds it).

`NoticeJob.step(now)` is one run with an explicit `now` (tests drive it directly);
`notices_ctx` runs it every `notices_interval_s` for the app's lifetime. Each run works in one
transaction under the "notices" job lock, and every notice has an idempotency key per visit, so
any number of processes may run it. Changes are found by comparing each watched visit with what
the citizen was last told (`NoticeWatch`), so every writer of visits (plan edits, generation,
reassignment) is covered without knowing about notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..citizens import relative_links
from ..keys import sessionmaker_key, settings_key
from ..models import Citizen, Organisation, Staff, Visit, utcnow
from ..models.notices import CitizenNotice, NoticeChannel, NoticeKind, NoticeWatch, SmsRecipient
from ..orgsettings import Reminders, read_settings
from ..scheduling import notifier as outbox
from ..scheduling.joblock import hold_job_lock
from ..scheduling.notifier import LINK_SLOT, LoggingNotifier, Notice, Notifier, make_notifier
from ..settings import Settings
from ..sms import SmsAdapter, make_sms_adapter
from ..vocabulary import Channel, VisitStatus
from . import texts
from .rules import (
    REMINDER_KINDS,
    Current,
    Known,
    change_of,
    due_reminder,
    late_due,
    reminder_horizon,
)
from .store import NewNotice, VisitRow, channels, create_many, visit_row, visit_rows

logger = logging.getLogger(__name__)
LATE_LOOKBACK = dt.timedelta(hours=3)  # longer than any visit window
FORGET_AFTER = dt.timedelta(days=1)


@dataclass(slots=True)
class Run:
    """One run's inputs and what it created."""

    session: AsyncSession
    now: dt.datetime
    zone: ZoneInfo
    sms: bool
    pending: list[tuple[NewNotice, NoticeChannel]] = field(default_factory=list)

    def tell(self, new: NewNotice, channel: NoticeChannel | None) -> None:
        """Create the notice on the citizen's channel at the end of the run (nobody: nothing)."""
        if channel is not None:
            self.pending.append((new, channel))


async def work_out(
    session: AsyncSession, now: dt.datetime, zone: ZoneInfo, *, sms: bool
) -> list[int]:
    """One run of the job in the caller's transaction; the ids of the notices it created."""
    await hold_job_lock(session, "notices", now)
    run = Run(session, now, zone, sms)
    await _changes(run)  # first: a reminder then starts from what the visit is now
    await _reminders(run)
    await _late_windows(run)
    await _watch_new_faces(run)
    await session.execute(delete(NoticeWatch).where(NoticeWatch.planned_at < now - FORGET_AFTER))
    return await create_many(session, run.pending, now)


async def _policies(session: AsyncSession) -> dict[int, Reminders]:
    """Each organisation's reminder settings."""
    rows = await session.execute(select(Organisation.id, Organisation.settings))
    return {org_id: read_settings(stored).reminders for org_id, stored in rows}


async def _reminders(run: Run) -> None:
    """Create each visit's latest due reminder once, and start watching the visit."""
    policies = await _policies(run.session)
    if not any(p.enabled for p in policies.values()):
        return
    horizon = max(reminder_horizon(run.now, run.zone, p) for p in policies.values() if p.enabled)
    query = visit_rows().where(
        Visit.status == VisitStatus.PLANNED, Visit.planned_at > run.now, Visit.planned_at <= horizon
    )
    due = {}
    for row in map(visit_row, await run.session.execute(query)):
        policy = policies.get(row.organisation_id)
        if policy and (found := due_reminder(row.facts.planned_at, run.zone, policy, run.now)):
            due[row.visit_id] = (row, found)
    if not due:
        return
    # The reminders already given in the horizon (a join, not a list of thousands of ids).
    have = set(
        await run.session.execute(
            select(CitizenNotice.visit_id, CitizenNotice.key)
            .join(Visit, Visit.id == CitizenNotice.visit_id)
            .where(
                Visit.planned_at > run.now,
                Visit.planned_at <= horizon,
                CitizenNotice.kind.in_(REMINDER_KINDS),
            )
        )
    )
    fresh = [(row, d) for row, d in due.values() if (row.visit_id, d.key) not in have]
    where = await channels(run.session, {row.citizen_id for row, _ in fresh}, sms=run.sms)
    watches = await _watches_between(run.session, run.now, horizon)
    for row, d in fresh:
        if row.citizen_id not in where:
            continue
        soon = d.kind is NoticeKind.REMINDER_SOON
        words = texts.reminder(row.facts, run.now, run.zone, soon=soon)
        new = NewNotice(row, d.kind, d.key, words, run.now, row.window_end)
        run.tell(new, where[row.citizen_id])
        await _remember(run.session, row, reminded=True, watches=watches)


async def _watches_between(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> dict[int, NoticeWatch]:
    """The watches of the visits planned in (start, end], by visit id, in one query."""
    rows = await session.scalars(
        select(NoticeWatch)
        .join(Visit, Visit.id == NoticeWatch.visit_id)
        .where(Visit.planned_at > start, Visit.planned_at <= end)
    )
    return {watch.visit_id: watch for watch in rows}


async def _remember(
    session: AsyncSession,
    row: VisitRow,
    *,
    reminded: bool,
    watches: dict[int, NoticeWatch] | None = None,
) -> None:
    """Record what the citizen now knows of the visit (``watches``: those already loaded)."""
    if watches is not None:
        watch = watches.get(row.visit_id)
    else:
        watch = await session.get(NoticeWatch, row.visit_id)
    if watch is None:
        watch = NoticeWatch(visit_id=row.visit_id)
        session.add(watch)
    watch.planned_at = row.facts.planned_at
    watch.staff_id = row.staff_id
    watch.reminded = reminded or bool(watch.reminded)
    watch.updated_at = utcnow()


async def _changes(run: Run) -> None:
    """Tell the citizen of each watched visit that is no longer what they were told."""
    query = (
        visit_rows()
        .add_columns(NoticeWatch.planned_at, NoticeWatch.staff_id, NoticeWatch.reminded)
        .join(NoticeWatch, NoticeWatch.visit_id == Visit.id)
        .where(
            or_(
                Visit.planned_at != NoticeWatch.planned_at,
                Visit.assigned_staff_id.is_distinct_from(NoticeWatch.staff_id),
                Visit.status == VisitStatus.CANCELLED,
            )
        )
    )
    changed = [(visit_row(r[:-3]), Known(*r[-3:])) for r in await run.session.execute(query)]
    where = await channels(run.session, {row.citizen_id for row, _ in changed}, sms=run.sms)
    for row, known in changed:
        current = Current(row.facts.planned_at, row.staff_id, row.status)
        kind = change_of(known, current)
        if kind is not None:
            words = await _change_words(run, row, known, kind)
            key = f"{kind.value}:{run.now.astimezone(dt.UTC):%Y%m%dT%H%M%S}"
            new = NewNotice(row, kind, key, words, run.now, row.window_end)
            run.tell(new, where.get(row.citizen_id))
        await _follow(run.session, row, known, kind)


async def _change_words(run: Run, row: VisitRow, known: Known, kind: NoticeKind) -> texts.Words:
    if kind is NoticeKind.CANCELLED:
        return texts.cancelled(row.facts, run.now, run.zone)
    if kind is NoticeKind.MOVED:
        return texts.moved(row.facts, known.planned_at, run.now, run.zone)
    was = None
    if known.staff_id is not None:
        was = await run.session.scalar(select(Staff.display_name).where(Staff.id == known.staff_id))
    return texts.reassigned(row.facts, was, run.now, run.zone)


async def _follow(
    session: AsyncSession, row: VisitRow, known: Known, kind: NoticeKind | None
) -> None:
    """Bring the watch up to what the citizen now knows.

    A cancelled visit is forgotten. Without a notice the person stays what was last told (an
    unassigned visit later given back to the same nurse is no news), but a time change before
    any reminder is simply followed: the reminder will tell the new time.
    """
    if kind is NoticeKind.CANCELLED or row.status is VisitStatus.CANCELLED:
        await session.execute(delete(NoticeWatch).where(NoticeWatch.visit_id == row.visit_id))
        return
    if kind is not None:
        await _remember(session, row, reminded=known.reminded)
    elif not known.reminded and row.facts.planned_at != known.planned_at:
        await session.execute(
            update(NoticeWatch)
            .where(NoticeWatch.visit_id == row.visit_id)
            .values(planned_at=row.facts.planned_at)
        )


async def _late_windows(run: Run) -> None:
    """ "Hjemmeplejen er lidt forsinket": a screen visit half-way through its window, not rung.

    Physical visits stay open until documented, often after the nurse left, so only the
    nurse's own "forsinket" button speaks for them.
    """
    query = visit_rows().where(
        Visit.channel == Channel.SCREEN,
        Visit.status == VisitStatus.PLANNED,
        Visit.attempts == 0,
        Visit.planned_at <= run.now,
        Visit.planned_at > run.now - LATE_LOOKBACK,
    )
    rows = [
        row
        for row in map(visit_row, await run.session.execute(query))
        if late_due(row.facts.planned_at, row.window_min, run.now)
    ]
    if not rows:
        return
    told = set(
        await run.session.scalars(
            select(CitizenNotice.visit_id).where(
                CitizenNotice.visit_id.in_([r.visit_id for r in rows]),
                CitizenNotice.kind == NoticeKind.LATE,
            )
        )
    )
    where = await channels(run.session, {r.citizen_id for r in rows}, sms=run.sms)
    for row in rows:
        if row.visit_id in told:
            continue
        words = texts.late_window(row.facts, run.zone)
        new = NewNotice(row, NoticeKind.LATE, "late:window", words, run.now, row.window_end)
        run.tell(new, where.get(row.citizen_id))


async def _watch_new_faces(run: Run) -> None:
    """Watch every coming visit of a citizen with few new faces from the moment it is planned,
    so a change of person is told at once, not only after the reminder."""
    query = (
        visit_rows()
        .outerjoin(NoticeWatch, NoticeWatch.visit_id == Visit.id)
        .where(
            Citizen.few_new_faces.is_(True),
            NoticeWatch.visit_id.is_(None),
            Visit.status == VisitStatus.PLANNED,
            Visit.planned_at > run.now,
        )
    )
    rows = [visit_row(r) for r in await run.session.execute(query)]
    where = await channels(run.session, {r.citizen_id for r in rows}, sms=run.sms)
    for row in rows:
        if row.citizen_id in where:
            await _remember(run.session, row, reminded=False)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One SMS to send."""

    notice_id: int
    phone: str
    text: str


async def pending_sms(session: AsyncSession, now: dt.datetime) -> list[Outgoing]:
    """SMS notices not yet sent (or failed) that still mean something."""
    rows = await session.execute(
        select(CitizenNotice.id, SmsRecipient.phone, Citizen.language, CitizenNotice.text_da)
        .add_columns(CitizenNotice.text_en)
        .join(SmsRecipient, SmsRecipient.citizen_id == CitizenNotice.citizen_id)
        .join(Citizen, Citizen.id == CitizenNotice.citizen_id)
        .where(
            CitizenNotice.channel == NoticeChannel.SMS,
            CitizenNotice.sent_at.is_(None),
            CitizenNotice.send_error.is_(None),
            CitizenNotice.show_from <= now,
            CitizenNotice.show_until > now,
        )
        .order_by(CitizenNotice.id)
        .limit(200)
    )
    return [Outgoing(i, phone, en if lang == "en" else da) for i, phone, lang, da, en in rows]


async def claim_sms(session: AsyncSession, notice_id: int, now: dt.datetime) -> bool:
    """Take the notice for sending (at most once: a second process finds it taken)."""
    result = await session.execute(
        update(CitizenNotice)
        .where(CitizenNotice.id == notice_id, CitizenNotice.sent_at.is_(None))
        .values(sent_at=now)
    )
    return getattr(result, "rowcount", 0) == 1


@dataclass
class NoticeJob:
    """The notice job of one process."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    sms: SmsAdapter | None
    mailer: Notifier | None = None  # relatives' e-mails with a link (None: only logged)

    async def step(self, now: dt.datetime) -> list[int]:
        """Work out notices, then send the pending SMS and e-mails; the ids of the notices
        created."""
        async with self.sessionmaker.begin() as session:
            created = await work_out(session, now, self.settings.zone, sms=self.sms is not None)
        await self.deliver(now)
        await self.deliver_mails(now)
        return created

    async def deliver_mails(self, now: dt.datetime) -> int:
        """E-mail the outbox rows that carry a relative's link (a new agreements version).

        Each attempt is claimed, and its link made, in one transaction, so the row never holds
        the token; a failed send revokes that link and the row is tried again on the next run,
        up to ``MAX_ATTEMPTS`` times, as the scheduler retries other relatives' notices.
        """
        mailer = self.mailer or LoggingNotifier()
        async with self.sessionmaker() as session:
            notices = await outbox.pending(session, with_link=True)
        sent = 0
        for notice in notices:
            async with self.sessionmaker.begin() as session:
                if not await outbox.claim(session, notice.notification_id):
                    continue
                made = await relative_links.mail_link(
                    session, notice.notification_id, self.settings.public_url, now
                )
            error: str | None = "NoConsent: the relative may no longer see the agreements"
            if made is not None:
                error = await _send(mailer, notice, made.url)
            async with self.sessionmaker.begin() as session:
                await outbox.mark(session, notice.notification_id, now, error)
                if made is not None:
                    await relative_links.mail_done(
                        session, made, notice.notification_id, error is None, now
                    )
            sent += error is None
        return sent

    async def deliver(self, now: dt.datetime) -> int:
        """Send each pending SMS once (claimed first: a failed send is recorded, not retried)."""
        if self.sms is None:
            return 0
        async with self.sessionmaker() as session:
            outgoing = await pending_sms(session, now)
        sent = 0
        for sms in outgoing:
            async with self.sessionmaker.begin() as session:
                if not await claim_sms(session, sms.notice_id, now):
                    continue
            try:
                await self.sms.send(sms.phone, sms.text)
                sent += 1
            except OSError as exc:
                async with self.sessionmaker.begin() as session:
                    await session.execute(
                        update(CitizenNotice)
                        .where(CitizenNotice.id == sms.notice_id)
                        .values(sent_at=None, send_error=f"{type(exc).__name__}: {exc}"[:200])
                    )
        return sent


async def _send(mailer: Notifier, notice: Notice, url: str) -> str | None:
    """Send the e-mail with its link in place; why it failed, or None."""
    try:
        await mailer.send(dataclasses.replace(notice, body=notice.body.replace(LINK_SLOT, url)))
    except (OSError, outbox.NotDeliverable) as exc:  # smtplib's errors are OSErrors
        logger.warning("relative e-mail %s failed: %s", notice.notification_id, type(exc).__name__)
        return f"{type(exc).__name__}: {exc}"
    return None


async def _loop(job: NoticeJob, interval: float, stop: asyncio.Event) -> None:
    """Run the job every `interval` seconds until `stop`, the first run after one interval (a
    fresh process first lets tablets reconnect); a failed run is logged, not fatal."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            await job.step(utcnow())
        except asyncio.CancelledError:
            raise
        except Exception:  # the job must outlive one bad run (database restart, bad row)
            logger.exception("notice job failed")


async def notices_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the notice job for the app's lifetime (when the scheduler is enabled)."""
    settings = app[settings_key]
    if not settings.scheduler_enabled:
        yield
        return
    sms, mailer = make_sms_adapter(settings), make_notifier(settings)
    job = NoticeJob(settings, app[sessionmaker_key], sms, mailer)
    stop = asyncio.Event()
    task = asyncio.create_task(_loop(job, settings.notices_interval_s, stop))
    yield
    # Let a run in progress finish its transaction; only one that hangs is cancelled.
    stop.set()
    _, pending = await asyncio.wait([task], timeout=10)
    for hanging in pending:
        hanging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hanging
