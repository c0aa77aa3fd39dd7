"""The citizen page's data over JSON (the HTML page renders the same read model)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from pydantic import ConfigDict

from ..auth.authz import require_citizen
from ..bounds import LocalTime
from ..citizens.overview import overview
from ..keys import sessionmaker_key, settings_key
from ..localtime import end_of_today
from ..models import utcnow
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="citizen page")


class _Out(WireModel):
    """Read straight from the overview's plain values (same field names)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class PlanOut(_Out):
    """A visit plan in plain terms."""

    id: int
    visit_type: str
    visit_type_name: str
    local_time: LocalTime
    rrule: str
    rrule_text: str
    window_min: int
    default_channel: str
    channel_by_weekday: dict[str, Any]
    valid_from: dt.date
    valid_to: dt.date | None


class ContactOut(_Out):
    """A contact person."""

    staff_id: int
    display_name: str
    priority: int


class ConsentOut(_Out):
    """A consent, withdrawn ones included (history)."""

    id: int
    kind: str
    scope: dict[str, Any]
    granted_by: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None


class RelativeOut(_Out):
    """A relative and what they may do."""

    id: int
    name: str
    relation: str
    phone: str | None
    may_join_meetings: bool
    may_call: bool
    may_see_agreements: bool
    may_be_notified: bool


class TabletOut(_Out):
    """A tablet lent to the citizen, with its latest self-test."""

    id: int
    label: str
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    selftest_ok: bool | None
    selftest_at: dt.datetime | None
    selftest_failed_part: str | None


class CallOut(_Out):
    """One call's metadata: never media."""

    public_id: str
    caller: str | None
    visit_id: int | None
    ring_started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    duration_s: int | None


class VisitOut(_Out):
    """A past or planned visit with its outcome in force."""

    id: int
    planned_at: dt.datetime
    visit_type_name: str
    channel: str
    status: str
    outcome: str | None
    reason: str | None
    outcome_id: int | None
    amended: bool


class ObservationPoint(_Out):
    """An observation over time."""

    code: str
    value: str | None
    note: str | None
    recorded_at: dt.datetime
    author: str | None
    visit_id: int | None


class TaskOut(_Out):
    """An open task for the team about this citizen."""

    id: int
    kind: str
    reason: str | None
    due_at: dt.datetime | None
    created_at: dt.datetime


class CitizenOverview(_Out):
    """The citizen page."""

    id: int
    name: str
    preferred_name: str | None
    photo_url: str | None
    team_id: int
    special_approach: str | None
    wishes: str | None
    plans: list[PlanOut]
    contacts: list[ContactOut]
    consents: list[ConsentOut]
    relatives: list[RelativeOut]
    tablets: list[TabletOut]
    calls: list[CallOut]
    visits: list[VisitOut]  # today's and earlier, newest first
    upcoming: list[VisitOut]  # after today, soonest first (at most 10)
    observations: list[ObservationPoint]
    tasks: list[TaskOut]


@api.get(
    r"/api/citizens/{citizen_id:\d+}/overview",
    response=CitizenOverview,
    summary="Everything on the citizen page",
)
async def citizen_overview(request: web.Request) -> CitizenOverview:
    """Plans, contacts, consents with history, relatives, tablets, calls, visits, observations."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        data = await overview(
            session,
            citizen,
            identity.language,
            end_of_today(utcnow(), request.app[settings_key].zone),
        )
    return CitizenOverview.model_validate(data)
