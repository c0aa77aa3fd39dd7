"""The organisation's wall clock: local dates and where they begin, in one zone.

The zone is ``Settings.timezone`` (``Settings.zone``), passed in by the caller: nothing in the
server names a zone of its own.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The local date of an aware instant, or of a naive local time."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where local ``day`` starts and the next one starts (23-25 h apart)."""
    start = dt.datetime.combine(day, dt.time.min, tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tz).astimezone(dt.UTC)
    return start, end


def end_of_today(now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant when the local day of ``now`` ends."""
    return day_bounds(local_day(now, tz), tz)[1]
