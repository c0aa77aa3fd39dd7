"""A team's or a staff member's visits of one day, and reassignment that prefers continuity."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from .. import audit
from ..auth.authz import require_staff
from ..auth.scope import may_see_team
from ..errors import Forbidden, NotFound
from ..keys import sessionmaker_key, settings_key, team_feed_key
from ..models import Visit, utcnow
from ..query import query_flag, query_int, requested_day
from ..translatable import N_
from ..visits.assignment import AssignChoice, assign
from ..visits.daylist import DayScope, DayVisit, day_list
from ..visits.updates import update_of
from ..vocabulary import Role
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="scheduling")
# Every staff role may hand a visit on; the rules in visits.assignment say to whom.
ASSIGN_ROLES = (Role.NURSE, Role.CARER, Role.PLANNER, Role.VISITATOR, Role.ADMIN)


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


def wire(row: DayVisit, english: bool) -> DayListVisit:
    """A day-list row on the wire."""
    return DayListVisit(
        visit_id=row.visit_id,
        citizen_id=row.citizen_id,
        citizen_name=row.citizen_name,
        team_id=row.team_id,
        visit_type=row.visit_type,
        visit_type_name=row.type_name("en" if english else "da"),
        non_swappable=row.non_swappable,
        planned_at=row.planned_at,
        window_start=row.window.start,
        window_end=row.window.end,
        duration_min=row.duration_min,
        channel=row.channel.value,
        status=row.status.value,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        assigned_staff_id=row.assigned_staff_id,
        assigned_staff_name=row.assigned_staff_name,
    )


@api.get("/api/daylist", response=DayList, summary="Visits of one day (?date, ?team_id, ?mine)")
async def get_day_list(request: web.Request) -> DayList:
    """A team's day (default: all my teams) or, with `mine=1`, the visits assigned to me."""
    identity = require_staff(request)
    zone = request.app[settings_key].zone
    day = requested_day(request, zone)
    team_id = query_int(request, "team_id")
    teams = [team_id] if team_id is not None else sorted(identity.team_ids)
    mine = query_flag(request, "mine")
    scope = DayScope(
        team_ids=None if mine else teams,
        staff_id=identity.staff_id if mine else None,
        details=False,
    )
    async with request.app[sessionmaker_key]() as session:
        if team_id is not None and not await may_see_team(session, identity, team_id):
            raise Forbidden(N_("Du er ikke med i det team."))
        rows = await day_list(session, scope, day, tz=zone, now=utcnow())
        await audit.record_read(
            session,
            "daylist.read",
            actor=identity,
            citizen_ids=[r.citizen_id for r in rows],
            detail={"date": day.isoformat(), "team_ids": teams, "mine": mine},
            request=request,
        )
    return DayList(date=day, visits=[wire(r, identity.language == "en") for r in rows])


class AssignRequest(WireModel):
    """Assign ``staff_id``, or (without one) the best by continuity, never ``exclude``.

    ``unassign`` leaves the visit with nobody (the team's inbox gets an item). A qualified
    visit type given to another role, or to nobody, needs ``override_reason`` from a nurse or
    visitator; someone outside the citizen's team and contact persons needs ``confirm_outside``;
    a new face for a citizen with few new faces needs ``confirm_new_face``.
    """

    staff_id: int | None = None
    exclude: Annotated[list[int], Field(max_length=100)] = []
    unassign: bool = False
    override_reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    confirm_outside: bool = False
    confirm_new_face: bool = False


class AssignResult(WireModel):
    """Who now has the visit (null: nobody, and the team's inbox says so)."""

    visit_id: int
    assigned_staff_id: int | None
    continuity_break: bool
    override: bool


@api.post(
    r"/api/visits/{visit_id:\d+}/assign",
    body=AssignRequest,
    response=AssignResult,
    summary="Assign or reassign a visit (continuity first; warnings need confirming)",
    roles=ASSIGN_ROLES,
)
async def assign_visit(request: web.Request, body: AssignRequest) -> AssignResult:
    """Reassign an open visit (see ``visits.assignment`` for the rules and refusal codes)."""
    identity = require_staff(request, *ASSIGN_ROLES)
    visit_id = int(request.match_info["visit_id"])
    choice = AssignChoice(
        staff_id=body.staff_id,
        exclude=body.exclude,
        unassign=body.unassign,
        override_reason=body.override_reason,
        confirm_outside=body.confirm_outside,
        confirm_new_face=body.confirm_new_face,
    )
    zone = request.app[settings_key].zone
    async with request.app[sessionmaker_key].begin() as session:
        visit = await session.get(Visit, visit_id, with_for_update=True)
        if visit is None or not await may_see_team(session, identity, visit.team_id):
            raise NotFound(N_("Besøget findes ikke."))
        done = await assign(session, identity, visit, choice, now=utcnow(), zone=zone)
        update = update_of(visit)
    feed = request.app[team_feed_key]
    await feed.visit_changed(update)
    for change in done.inbox_changes:
        await feed.inbox_changed(change)
    return AssignResult(
        visit_id=visit_id,
        assigned_staff_id=done.staff_id,
        continuity_break=done.continuity_break,
        override=done.override,
    )
