"""Reading query strings, shared by the JSON edge (``api/``) and the HTML edge (``pages/``).

Each reader raises ``InvalidInput`` with a message that names the parameter.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiohttp import web

from .admin.auditlog import AuditFilter
from .errors import InvalidInput
from .localtime import local_day
from .models import utcnow
from .translatable import N_


def requested_day(request: web.Request, zone: ZoneInfo) -> dt.date:
    """``?date=YYYY-MM-DD``, or today in the organisation's time zone."""
    raw = request.query.get("date")
    if not raw:
        return local_day(utcnow(), zone)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(N_("Datoen skal skrives ÅÅÅÅ-MM-DD.")) from None


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    """A whole number from ``?name=``, or ``default`` when it is missing or empty."""
    raw = request.query.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput(N_("{name} skal være et helt tal.", name=name))
    return int(raw)


def query_flag(request: web.Request, name: str) -> bool:
    """``?name=1`` or ``?name=true``."""
    return request.query.get(name) in {"1", "true"}


def audit_filter(request: web.Request) -> AuditFilter:
    """The audit log's filters (``since``/``until`` as ISO dates or date-times, UTC if naive)."""
    query = request.query
    return AuditFilter(
        action=query.get("action") or None,
        actor=query.get("actor") or None,
        subject_kind=query.get("subject_kind") or None,
        subject_id=query.get("subject_id") or None,
        since=_moment(request, "since"),
        until=_moment(request, "until"),
    )


def _moment(request: web.Request, name: str) -> dt.datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            N_("{name} skal være en dato eller et tidspunkt (ISO 8601).", name=name)
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
