"""When a citizen is reminded or told of a change, and which notices the tablet shows. Pure.

Reminders come at the organisation's offsets (the evening before at a wall-clock time, and some
minutes before); a change is told when what the citizen was last told (a `Known` row) no longer
matches the visit: another person (at once for a citizen with few new faces, who is watched
from planning on), another time or a cancellation (only once the citizen was reminded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..models.notices import NoticeKind
from ..orgsettings import Reminders
from ..vocabulary import VisitStatus

# A visit whose window passed half-way with no call yet is "a little late" (screen visits).
LATE_AFTER_FRACTION = 0.5
# Statuses in which a visit's coming is still news for the citizen.
OPEN = frozenset({VisitStatus.PLANNED, VisitStatus.NOT_ANSWERED})


REMINDER_KINDS = frozenset({NoticeKind.REMINDER_EVENING, NoticeKind.REMINDER_SOON})
# A nurse says she runs late for the visits of the next two hours, not for the evening's: the
# day list offers "Forsinket ca. 10 min" only for those.
DELAY_AHEAD = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder that is due: its idempotency key, kind and the moment it became due."""

    key: str
    kind: NoticeKind
    at: dt.datetime


def _evening(planned_at: dt.datetime, zone: ZoneInfo, clock: str) -> dt.datetime:
    """The wall-clock ``clock`` on the local day before the visit, as an instant."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = planned_at.astimezone(zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), zone).astimezone(dt.UTC)


def reminders_of(planned_at: dt.datetime, zone: ZoneInfo, policy: Reminders) -> list[Due]:
    """Every reminder of a visit, earliest first (none when reminders are off)."""
    if not policy.enabled:
        return []
    found = [
        Due(f"soon:{m}", NoticeKind.REMINDER_SOON, planned_at - dt.timedelta(minutes=m))
        for m in set(policy.minutes_before)
    ]
    if policy.evening_before:
        at = _evening(planned_at, zone, policy.evening_before)
        found.append(Due("evening", NoticeKind.REMINDER_EVENING, at))
    return sorted(found, key=lambda due: due.at)


def due_reminder(
    planned_at: dt.datetime, zone: ZoneInfo, policy: Reminders, now: dt.datetime
) -> Due | None:
    """The latest reminder whose moment has come, while the visit is still ahead."""
    if now >= planned_at:
        return None
    passed = [due for due in reminders_of(planned_at, zone, policy) if due.at <= now]
    return passed[-1] if passed else None


def reminder_horizon(now: dt.datetime, zone: ZoneInfo, policy: Reminders) -> dt.datetime:
    """No visit planned after this instant has a reminder due at ``now``."""
    until = now + dt.timedelta(minutes=max(policy.minutes_before, default=0))
    if policy.evening_before:
        local = now.astimezone(zone)
        hour, minute = (int(part) for part in policy.evening_before.split(":"))
        days = 2 if local.time() >= dt.time(hour, minute) else 1
        end = dt.datetime.combine(local.date() + dt.timedelta(days=days), dt.time(), zone)
        until = max(until, end.astimezone(dt.UTC))
    return until


@dataclass(frozen=True, slots=True)
class Known:
    """What the citizen was last told of a visit."""

    planned_at: dt.datetime
    staff_id: int | None
    reminded: bool


@dataclass(frozen=True, slots=True)
class Current:
    """The visit as it stands."""

    planned_at: dt.datetime
    staff_id: int | None
    status: VisitStatus


def change_of(known: Known, current: Current) -> NoticeKind | None:
    """The change the citizen must be told of, if any.

    A change of person is told whenever the visit is watched (a citizen with few new faces is
    watched from planning on); a new time or a cancellation only once the citizen was reminded.
    """
    if current.status is VisitStatus.CANCELLED:
        return NoticeKind.CANCELLED if known.reminded else None
    if current.status not in OPEN:
        return None
    if current.staff_id != known.staff_id and current.staff_id is not None:
        return NoticeKind.REASSIGNED
    if current.planned_at != known.planned_at and known.reminded:
        return NoticeKind.MOVED
    return None


def visible(kind: NoticeKind, status: VisitStatus) -> bool:
    """Whether a notice still means something while its visit is in ``status``.

    A cancelled visit shows only its cancellation; one under way or over shows nothing.
    """
    if status is VisitStatus.CANCELLED:
        return kind is NoticeKind.CANCELLED
    return status in OPEN and kind is not NoticeKind.CANCELLED


def late_due(planned_at: dt.datetime, window_min: int, now: dt.datetime) -> bool:
    """The window has passed half-way (and not closed) with the visit still not rung."""
    late_from = planned_at + dt.timedelta(minutes=window_min * LATE_AFTER_FRACTION)
    return late_from <= now < planned_at + dt.timedelta(minutes=window_min)
