"""Sending a text message to a citizen: the `SmsAdapter` port and the adapters we ship.

The demo and default adapter only logs (the number masked, the text at DEBUG: it can say
which care a citizen gets). A real gateway is one more class with the same `send`; tests use a
hand-written fake that records what it was given.
"""

from __future__ import annotations

import logging
from typing import Protocol

from .settings import Settings

logger = logging.getLogger(__name__)


class SmsAdapter(Protocol):
    """Something that sends one text to one phone number, or raises `OSError`."""

    async def send(self, to: str, text: str) -> None: ...


def mask(phone: str) -> str:
    """All but the last two digits hidden: "+45 12 34 56 78" → "********78"."""
    digits = [c for c in phone if c.isdigit()]
    return "*" * max(len(digits) - 2, 0) + "".join(digits[-2:])


class LoggingSmsAdapter:
    """The demo's adapter: the SMS is logged as sent (the number masked)."""

    async def send(self, to: str, text: str) -> None:
        logger.info("sms to %s sent (%d characters)", mask(to), len(text))
        logger.debug("sms text: %s", text)


def make_sms_adapter(settings: Settings) -> SmsAdapter | None:
    """The adapter the settings name; None when SMS is switched off (no SMS notices then)."""
    return None if settings.sms_adapter == "none" else LoggingSmsAdapter()
