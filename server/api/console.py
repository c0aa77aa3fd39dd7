"""The console's own JSON: today's call list and the colleagues who could join a call."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from .. import audit
from ..auth.authz import require_staff
from ..auth.scope import citizen_scope
from ..keys import book_key, sessionmaker_key, settings_key
from ..models import Staff, TeamMembership, utcnow
from ..query import requested_day
from ..visits.daylist import DayScope, DayVisit, call_list_order, day_list
from ..visits.status import ListStatus
from ..vocabulary import Channel
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="console")


class TabletReadiness(WireModel):
    """The citizen's tablet as far as the database knows (live presence comes over the socket)."""

    has_tablet: bool
    last_seen: dt.datetime | None = None
    selftest_ok: bool | None = None
    selftest_at: dt.datetime | None = None
    selftest_failed_part: str | None = None


class DayRow(WireModel):
    """One visit on the call list."""

    visit_id: int
    citizen_id: int
    citizen_name: str
    preferred_name: str | None
    photo_url: str | None
    team_id: int
    planned_at: dt.datetime
    window_min: int
    visit_type: str
    visit_type_name_da: str
    visit_type_name_en: str
    channel: Channel
    status: ListStatus
    mine: bool
    outcome: str | None
    readiness: TabletReadiness


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


def _readiness(row: DayVisit) -> TabletReadiness:
    tablet = row.tablet
    if tablet is None:
        return TabletReadiness(has_tablet=False)
    test = tablet.selftest
    return TabletReadiness(
        has_tablet=True,
        last_seen=tablet.last_seen_at,
        selftest_ok=test.ok if test else None,
        selftest_at=test.at if test else None,
        selftest_failed_part=test.failed_part if test else None,
    )


def _row(row: DayVisit) -> DayRow:
    return DayRow(
        visit_id=row.visit_id,
        citizen_id=row.citizen_id,
        citizen_name=row.citizen_name,
        preferred_name=row.preferred_name,
        photo_url=row.photo_url,
        team_id=row.team_id,
        planned_at=row.planned_at,
        window_min=row.window_min,
        visit_type=row.visit_type,
        visit_type_name_da=row.visit_type_name_da,
        visit_type_name_en=row.visit_type_name_en,
        channel=row.channel,
        status=row.shown,
        mine=row.mine,
        outcome=row.outcome.value if row.outcome else None,
        readiness=_readiness(row),
    )


@api.get("/api/console/today", response=CallList, summary="Today's call list")
async def today(request: web.Request) -> CallList:
    """The caller's visits for the day: own contact-person citizens first, then by time."""
    identity = require_staff(request)
    zone = request.app[settings_key].zone
    day = requested_day(request, zone)
    scope = DayScope(
        citizens=citizen_scope(identity), contact_person=identity.staff_id, include_cancelled=True
    )
    async with request.app[sessionmaker_key]() as session:
        rows = await day_list(session, scope, day, tz=zone, now=utcnow())
        await audit.record_read(
            session,
            "calllist.read",
            actor=identity,
            citizen_ids=[r.citizen_id for r in rows],
            detail={"date": day.isoformat()},
            request=request,
        )
    return CallList(date=day, rows=[_row(r) for r in call_list_order(rows)])


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
    online = await request.app[book_key].online_staff()
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
