"""What the call list shows for a visit: pure functions of the stored status and the clock."""

from __future__ import annotations

import datetime as dt
import enum

from ..models import VisitStatus


class ListStatus(enum.StrEnum):
    """A visit's status as the nurse sees it in "I dag"."""

    PLANNED = "planned"
    DUE = "due"
    LATE = "late"
    RINGING = "ringing"
    IN_CALL = "in_call"
    DONE = "done"
    NOT_ANSWERED = "not_answered"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


_STORED = {
    VisitStatus.RINGING: ListStatus.RINGING,
    VisitStatus.IN_CALL: ListStatus.IN_CALL,
    VisitStatus.DONE: ListStatus.DONE,
    VisitStatus.NOT_ANSWERED: ListStatus.NOT_ANSWERED,
    VisitStatus.MISSED: ListStatus.ESCALATED,
    VisitStatus.CANCELLED: ListStatus.CANCELLED,
}

# Statuses after which nothing is left to do for the visit (the list shows them last).
FINISHED = frozenset({ListStatus.DONE, ListStatus.ESCALATED, ListStatus.CANCELLED})


def list_status(
    stored: VisitStatus, planned_at: dt.datetime, window_min: int, now: dt.datetime
) -> ListStatus:
    """Planned before the window opens, due inside it, late after it; stored states win."""
    if stored is not VisitStatus.PLANNED:
        return _STORED[stored]
    window = dt.timedelta(minutes=window_min)
    if now < planned_at - window:
        return ListStatus.PLANNED
    if now <= planned_at + window:
        return ListStatus.DUE
    return ListStatus.LATE
