"""The console's own JSON: today's call list and the colleagues who could join a call."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from ..auth.authz import require_staff
from ..console.daylist import DayRow, day_list
from ..errors import InvalidInput
from ..keys import hub_key, sessionmaker_key, settings_key
from ..models import Staff, TeamMembership, utcnow
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="console")


class CallList(WireModel):
    """Visits of one day for the caller, in call-list order."""

    date: dt.date
    rows: list[DayRow]


class Colleague(WireModel):
    """A staff member of one of my teams; ``online`` when they have a console open."""

    staff_id: int
    display_name: str
    role: str
    online: bool


class Colleagues(WireModel):
    """Colleagues I could invite into a call."""

    colleagues: list[Colleague]


def requested_day(request: web.Request, tz: ZoneInfo) -> dt.date:
    """``?date=YYYY-MM-DD`` or today in the organisation's time zone."""
    raw = request.query.get("date")
    if not raw:
        return utcnow().astimezone(tz).date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD.") from None


@api.get("/api/console/today", response=CallList, summary="Today's call list")
async def today(request: web.Request) -> CallList:
    """The caller's visits for the day: own contact-person citizens first, then by time."""
    identity = require_staff(request)
    tz = ZoneInfo(request.app[settings_key].timezone)
    day = requested_day(request, tz)
    async with request.app[sessionmaker_key]() as session:
        rows = await day_list(session, identity, day, tz, utcnow())
    return CallList(date=day, rows=rows)


@api.get("/api/console/colleagues", response=Colleagues, summary="Colleagues of my teams")
async def colleagues(request: web.Request) -> Colleagues:
    """Active staff sharing a team with the caller, online ones first."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        staff = (
            await session.scalars(
                select(Staff)
                .join(TeamMembership, TeamMembership.staff_id == Staff.id)
                .where(
                    TeamMembership.team_id.in_(identity.team_ids),
                    Staff.id != identity.staff_id,
                    Staff.active.is_(True),
                )
                .distinct()
                .order_by(Staff.display_name)
            )
        ).all()
    hub = request.app.get(hub_key)
    online = set(hub.staff_peers) if hub is not None else set()
    people = [
        Colleague(
            staff_id=s.id,
            display_name=s.display_name,
            role=s.role.value,
            online=str(s.id) in online,
        )
        for s in staff
    ]
    people.sort(key=lambda c: not c.online)
    return Colleagues(colleagues=people)
