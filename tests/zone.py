"""The wall clock of the tests' organisation: the default ``Settings.timezone``."""

from __future__ import annotations

import datetime as dt

from server.localtime import local_day
from server.models import utcnow
from server.settings import Settings

LOCAL_ZONE = Settings().zone


def today() -> dt.date:
    """Today's local date in the tests' zone."""
    return local_day(utcnow(), LOCAL_ZONE)
