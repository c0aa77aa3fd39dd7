"""A team's or a staff member's visits of one day, and reassignment that prefers continuity."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.authz import require_staff
from ..auth.identity import StaffIdentity
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..keys import sessionmaker_key
from ..models import Role, Staff, Team, Visit, VisitStatus, VisitType, utcnow
from ..scheduling.continuity import load_continuity, qualified
from ..scheduling.daylist import DayListRow, day_list
from ..scheduling.recurrence import local_day
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="scheduling")


class DayListVisit(WireModel):
    """One visit on the list."""

    visit_id: int
    citizen_id: int
    citizen_name: str
    team_id: int
    visit_type: str
    visit_type_name: str
    non_swappable: bool
    planned_at: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime
    duration_min: int
    channel: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    assigned_staff_id: int | None
    assigned_staff_name: str | None


class DayList(WireModel):
    """The visits of one local day, by planned time."""

    date: dt.date
    visits: list[DayListVisit]


def wire(row: DayListRow, english: bool) -> DayListVisit:
    """A day-list row on the wire."""
    return DayListVisit(
        visit_id=row.visit_id,
        citizen_id=row.citizen_id,
        citizen_name=row.citizen_name,
        team_id=row.team_id,
        visit_type=row.visit_type,
        visit_type_name=row.visit_type_name_en if english else row.visit_type_name_da,
        non_swappable=row.non_swappable,
        planned_at=row.planned_at,
        window_start=row.window_start,
        window_end=row.window_end,
        duration_min=row.duration_min,
        channel=row.channel.value,
        status=row.status.value,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        assigned_staff_id=row.assigned_staff_id,
        assigned_staff_name=row.assigned_staff_name,
    )


def _query_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name} must be a number.")
    return int(raw)


async def _may_see_team(session: AsyncSession, identity: StaffIdentity, team_id: int) -> bool:
    """Own teams always; organisation-wide roles only teams of their own organisation."""
    if team_id in identity.team_ids:
        return True
    if not identity.org_wide:
        return False
    org = await session.scalar(select(Team.organisation_id).where(Team.id == team_id))
    return org == identity.organisation_id


@api.get("/api/daylist", response=DayList, summary="Visits of one day (?date, ?team_id, ?mine)")
async def get_day_list(request: web.Request) -> DayList:
    """A team's day (default: all my teams) or, with `mine=1`, the visits assigned to me."""
    identity = require_staff(request)
    raw_day = request.query.get("date")
    try:
        day = dt.date.fromisoformat(raw_day) if raw_day else local_day(utcnow())
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD.") from None
    team_id = _query_int(request, "team_id")
    teams = [team_id] if team_id is not None else sorted(identity.team_ids)
    mine = request.query.get("mine") in {"1", "true"}
    async with request.app[sessionmaker_key]() as session:
        if team_id is not None and not await _may_see_team(session, identity, team_id):
            raise Forbidden("You are not in that team.")
        rows = await day_list(
            session,
            day,
            team_ids=None if mine else teams,
            staff_id=identity.staff_id if mine else None,
        )
    return DayList(date=day, visits=[wire(r, identity.language == "en") for r in rows])


class AssignRequest(WireModel):
    """Assign a staff member, or (without one) the best by continuity, never `exclude`."""

    staff_id: int | None = None
    exclude: list[int] = []


class AssignResult(WireModel):
    """Who now has the visit."""

    visit_id: int
    assigned_staff_id: int | None


@api.post(
    r"/api/visits/{visit_id:\d+}/assign",
    body=AssignRequest,
    response=AssignResult,
    summary="Assign or reassign a visit (continuity first)",
)
async def assign_visit(request: web.Request, body: AssignRequest) -> AssignResult:
    """Reassign an open visit; only qualified roles may take a non-swappable visit type."""
    identity = require_staff(request, Role.NURSE, Role.CARER, Role.PLANNER, Role.ADMIN)
    visit_id = int(request.match_info["visit_id"])
    async with request.app[sessionmaker_key].begin() as session:
        visit = await session.get(Visit, visit_id)
        if visit is None or not await _may_see_team(session, identity, visit.team_id):
            raise NotFound("No such visit.")
        if visit.status in (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED):
            raise Conflict("The visit is closed.")
        vtype = await session.get_one(VisitType, visit.visit_type_id)
        staff_id = body.staff_id
        if staff_id is None:
            continuity = await load_continuity(session, utcnow(), [visit.citizen_id])
            staff_id = continuity.choose(
                visit.citizen_id, visit.team_id, vtype.qualified_roles, body.exclude
            )
        else:
            staff = await session.get(Staff, staff_id)
            if staff is None or staff.organisation_id != identity.organisation_id:
                raise InvalidInput("No such staff member.")
            if not qualified(staff.role.value, vtype.qualified_roles):
                raise NotQualified()
        visit.assigned_staff_id = staff_id
    return AssignResult(visit_id=visit_id, assigned_staff_id=staff_id)


class NotQualified(Conflict):
    """The staff member's role may not take this visit type (e.g. medication needs a nurse)."""

    code = "not_qualified"
    default_message = "Only qualified roles may take this visit."
