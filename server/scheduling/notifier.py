"""Notices to relatives: an outbox in the database, delivered through a `Notifier`.

The default notifier only logs (the notice is also shown in the app, from the outbox);
`SmtpNotifier` e-mails it when `SMTP_HOST` is set. Delivery claims a row by bumping its attempt
count conditionally, so several processes never send one notice twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Notification, Relative
from ..settings import Settings

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
# Where a relative's personal link goes in an outbox row's body: the link is made, and put in
# the e-mail, only when the row is delivered, so the row never holds a token (the notice job
# delivers these rows, ``server/notices/job.py``; the scheduler delivers the others).
LINK_SLOT = "[[relative-link]]"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice to one relative."""

    notification_id: int
    recipient: str
    email: str | None
    subject: str
    body: str


class NotDeliverable(Exception):
    """The notice cannot be delivered this way (e.g. the relative has no e-mail address)."""


class Notifier(Protocol):
    """Something that delivers a notice or raises."""

    async def send(self, notice: Notice) -> None: ...


class LoggingNotifier:
    """The default: log that a notice exists (contents only at DEBUG: they are health data)."""

    async def send(self, notice: Notice) -> None:
        logger.info("relative notice %s recorded (shown in the app)", notice.notification_id)
        logger.debug("notice %s: %s", notice.notification_id, notice.subject)


class SmtpNotifier:
    """E-mail through an SMTP server (run in a thread: smtplib blocks)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, notice: Notice) -> None:
        if not notice.email:
            raise NotDeliverable("no e-mail address")
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = notice.email
        message["Subject"] = notice.subject
        message.set_content(notice.body)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        s = self.settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)


def make_notifier(settings: Settings) -> Notifier:
    """SMTP when configured, else the logging notifier."""
    return SmtpNotifier(settings) if settings.smtp_host else LoggingNotifier()


async def pending(
    session: AsyncSession, limit: int = 50, *, with_link: bool = False
) -> list[Notice]:
    """Undelivered notices that may still be tried, oldest first: those without a link slot, or
    (``with_link``) only those with one."""
    slot = Notification.body.contains(LINK_SLOT)
    rows = await session.execute(
        select(Notification, Relative)
        .join(Relative, Relative.id == Notification.relative_id)
        .where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
        .where(slot if with_link else ~slot)
        .order_by(Notification.id)
        .limit(limit)
    )
    return [Notice(n.id, r.name, r.email, n.subject, n.body) for n, r in rows]


async def claim(session: AsyncSession, notification_id: int) -> bool:
    """Take one delivery attempt; False when another process took it first or it was sent."""
    attempts = await session.scalar(
        select(Notification.attempts).where(
            Notification.id == notification_id, Notification.sent_at.is_(None)
        )
    )
    if attempts is None:
        return False
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.attempts == attempts)
        .values(attempts=attempts + 1)
    )
    return getattr(result, "rowcount", 0) == 1


async def mark(
    session: AsyncSession, notification_id: int, now: dt.datetime, error: str | None
) -> None:
    """Record a delivery (or why it failed)."""
    values = {"last_error": error[:200]} if error else {"sent_at": now, "last_error": None}
    await session.execute(
        update(Notification).where(Notification.id == notification_id).values(**values)
    )
