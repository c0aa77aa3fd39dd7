"""Sending an invite link by e-mail through the SMTP adapter; without a host it is only logged
(the host sees the link in the app and passes it on)."""

from __future__ import annotations

import logging

from ..scheduling.notifier import Notice, SmtpNotifier
from ..settings import Settings

logger = logging.getLogger(__name__)


def invite_text(name: str, url: str, when: str) -> tuple[str, str]:
    """Subject and body of the invite e-mail (Danish and English: the reader has no account)."""
    subject = "Invitation til møde på skærm / Invitation to a video meeting"
    body = (
        f"Kære {name}\n\nDu er inviteret til et møde på skærm {when}.\n"
        f"Åbn linket lidt før mødet: {url}\n"
        "Linket er personligt. Del det ikke med andre.\n\n"
        f"Dear {name}\n\nYou are invited to a video meeting {when}.\n"
        f"Open the link shortly before the meeting: {url}\n"
        "The link is personal. Do not share it.\n"
    )
    return subject, body


async def send_invite(settings: Settings, notice: Notice) -> bool:
    """E-mail the invite; False when no SMTP host is set or delivery failed (then logged)."""
    if not settings.smtp_host or not notice.email:
        logger.info("invite %s: not e-mailed, shown to the host", notice.notification_id)
        return False
    try:
        await SmtpNotifier(settings).send(notice)
    except Exception:  # an unreachable mail server must not fail the invite itself
        logger.exception("invite %s: e-mail could not be sent", notice.notification_id)
        return False
    return True
