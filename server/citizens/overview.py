"""Everything the citizen page shows, read in one session: plans, people, consents, tablets,
call history (metadata only), visits with their outcome in force, observations and open tasks.

Plain values: the page renders them, and the JSON API maps them to its wire models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Call,
    Citizen,
    Consent,
    ContactPerson,
    InboxItem,
    Observation,
    Relative,
    Staff,
    Visit,
    VisitPlan,
    VisitType,
)
from ..scheduling.rrule_text import describe
from ..visits.inbox import ACTIVE
from ..visits.outcomes import in_force_of
from ..visits.readiness import citizen_tablets

HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A visit plan in plain terms."""

    id: int
    visit_type: str
    visit_type_name: str
    local_time: dt.time
    rrule: str
    rrule_text: str
    window_min: int
    default_channel: str
    channel_by_weekday: dict[str, Any]
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A contact person."""

    staff_id: int
    display_name: str
    priority: int


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """A consent, withdrawn ones included (history)."""

    id: int
    kind: str
    scope: dict[str, Any]
    granted_by: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None


@dataclass(frozen=True, slots=True)
class RelativeRow:
    """A relative and what they may do."""

    id: int
    name: str
    relation: str
    phone: str | None
    may_join_meetings: bool
    may_call: bool
    may_see_agreements: bool
    may_be_notified: bool


@dataclass(frozen=True, slots=True)
class TabletRow:
    """A tablet lent to the citizen, with its latest self-test."""

    id: int
    label: str
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    selftest_ok: bool | None
    selftest_at: dt.datetime | None
    selftest_failed_part: str | None


@dataclass(frozen=True, slots=True)
class CallRow:
    """One call's metadata: never media."""

    public_id: str
    caller: str | None
    visit_id: int | None
    ring_started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    duration_s: int | None


@dataclass(frozen=True, slots=True)
class VisitRow:
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
    checklist: list[dict[str, Any]] | None = None  # the medication steps confirmed in the call


@dataclass(frozen=True, slots=True)
class ObservationPoint:
    """An observation over time."""

    code: str
    value: str | None
    note: str | None
    recorded_at: dt.datetime
    author: str | None
    visit_id: int | None


@dataclass(frozen=True, slots=True)
class TaskRow:
    """An open task for the team about this citizen."""

    id: int
    kind: str
    reason: str | None
    due_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CitizenOverview:
    """The citizen page."""

    id: int
    name: str
    preferred_name: str | None
    photo_url: str | None
    team_id: int
    special_approach: str | None
    wishes: str | None
    plans: list[PlanRow]
    contacts: list[ContactRow]
    consents: list[ConsentRow]
    relatives: list[RelativeRow]
    tablets: list[TabletRow]
    calls: list[CallRow]
    visits: list[VisitRow]  # today's and earlier ones, newest first: today is on top
    upcoming: list[VisitRow]  # after today, soonest first
    observations: list[ObservationPoint]
    tasks: list[TaskRow]


UPCOMING_LIMIT = 10


async def overview(
    session: AsyncSession, citizen: Citizen, lang: str, today_ends: dt.datetime
) -> CitizenOverview:
    """Read the whole page for ``citizen`` (access already checked and audited).

    ``today_ends`` is when the organisation's local today ends: visits up to then are the
    history (today's first), later ones the short list of what comes.
    """
    cid = citizen.id
    return CitizenOverview(
        id=cid,
        name=citizen.name,
        preferred_name=citizen.preferred_name,
        photo_url=citizen.photo_url,
        team_id=citizen.team_id,
        special_approach=citizen.special_approach,
        wishes=citizen.wishes,
        plans=await _plans(session, cid, lang),
        contacts=await contacts(session, cid),
        consents=await _consents(session, cid),
        relatives=await _relatives(session, cid),
        tablets=await _tablets(session, cid),
        calls=await _calls(session, cid),
        visits=await _visits(session, cid, lang, today_ends, upcoming=False),
        upcoming=await _visits(session, cid, lang, today_ends, upcoming=True),
        observations=await _observations(session, cid),
        tasks=await _tasks(session, cid),
    )


def _type_name(vtype: VisitType, lang: str) -> str:
    return vtype.name_en if lang == "en" else vtype.name_da


async def _plans(session: AsyncSession, cid: int, lang: str) -> list[PlanRow]:
    rows = await session.execute(
        select(VisitPlan, VisitType)
        .join(VisitType, VisitType.id == VisitPlan.visit_type_id)
        .where(VisitPlan.citizen_id == cid)
        .order_by(VisitPlan.local_time)
    )
    return [
        PlanRow(
            id=plan.id,
            visit_type=vtype.code,
            visit_type_name=_type_name(vtype, lang),
            local_time=plan.local_time,
            rrule=plan.rrule,
            rrule_text=describe(plan.rrule, lang),
            window_min=plan.window_min,
            default_channel=plan.default_channel.value,
            channel_by_weekday=plan.channel_by_weekday,
            valid_from=plan.valid_from,
            valid_to=plan.valid_to,
        )
        for plan, vtype in rows
    ]


async def contacts(session: AsyncSession, cid: int) -> list[ContactRow]:
    """The citizen's contact persons in priority order."""
    rows = await session.execute(
        select(ContactPerson.staff_id, Staff.display_name, ContactPerson.priority)
        .join(Staff, Staff.id == ContactPerson.staff_id)
        .where(ContactPerson.citizen_id == cid)
        .order_by(ContactPerson.priority)
    )
    return [ContactRow(staff_id=s, display_name=n, priority=p) for s, n, p in rows]


async def _consents(session: AsyncSession, cid: int) -> list[ConsentRow]:
    rows = await session.scalars(
        select(Consent).where(Consent.citizen_id == cid).order_by(Consent.granted_at)
    )
    return [
        ConsentRow(
            c.id, c.kind.value, c.scope, c.granted_by, c.granted_at, c.withdrawn_at, c.withdrawn_by
        )
        for c in rows
    ]


async def _relatives(session: AsyncSession, cid: int) -> list[RelativeRow]:
    rows = await session.scalars(
        select(Relative)
        .where(Relative.citizen_id == cid, Relative.removed_at.is_(None))  # removed: history
        .order_by(Relative.name)
    )
    return [
        RelativeRow(
            r.id,
            r.name,
            r.relation,
            r.phone,
            r.may_join_meetings,
            r.may_call,
            r.may_see_agreements,
            r.may_be_notified,
        )
        for r in rows
    ]


async def _tablets(session: AsyncSession, cid: int) -> list[TabletRow]:
    return [
        TabletRow(
            id=t.kiosk_id,
            label=t.label,
            enrolled_at=t.enrolled_at,
            revoked_at=t.revoked_at,
            last_seen_at=t.last_seen_at,
            selftest_ok=t.selftest.ok if t.selftest else None,
            selftest_at=t.selftest.at if t.selftest else None,
            selftest_failed_part=t.selftest.failed_part if t.selftest else None,
        )
        for t in await citizen_tablets(session, cid)
    ]


async def _calls(session: AsyncSession, cid: int) -> list[CallRow]:
    rows = await session.execute(
        select(Call, Staff.display_name)
        .outerjoin(Staff, Staff.id == Call.caller_staff_id)
        .where(Call.citizen_id == cid)
        .order_by(Call.ring_started_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return [
        CallRow(
            public_id=call.public_id,
            caller=caller,
            visit_id=call.visit_id,
            ring_started_at=call.ring_started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            end_reason=call.end_reason,
            duration_s=int((call.ended_at - call.answered_at).total_seconds())
            if call.ended_at and call.answered_at
            else None,
        )
        for call, caller in rows
    ]


async def _visits(
    session: AsyncSession, cid: int, lang: str, today_ends: dt.datetime, *, upcoming: bool
) -> list[VisitRow]:
    """The history up to the end of today, newest first (today on top), or the visits after
    today, soonest first (a short list: the plan editor shows the weeks ahead)."""
    when = Visit.planned_at >= today_ends if upcoming else Visit.planned_at < today_ends
    order = Visit.planned_at.asc() if upcoming else Visit.planned_at.desc()
    rows = (
        await session.execute(
            select(Visit, VisitType)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .where(Visit.citizen_id == cid, when)
            .order_by(order)
            .limit(UPCOMING_LIMIT if upcoming else HISTORY_LIMIT)
        )
    ).all()
    current = await in_force_of(session, [visit.id for visit, _ in rows])
    result = []
    for visit, vtype in rows:
        outcome = current.get(visit.id)
        result.append(
            VisitRow(
                id=visit.id,
                planned_at=visit.planned_at,
                visit_type_name=_type_name(vtype, lang),
                channel=visit.channel.value,
                status=visit.status.value,
                outcome=outcome.kind.value if outcome else None,
                reason=outcome.reason if outcome else None,
                outcome_id=outcome.id if outcome else None,
                amended=bool(outcome and outcome.amends_id),
                checklist=outcome.checklist if outcome else None,
            )
        )
    return result


async def _observations(session: AsyncSession, cid: int) -> list[ObservationPoint]:
    rows = await session.execute(
        select(Observation, Staff.display_name)
        .outerjoin(Staff, Staff.id == Observation.author_staff_id)
        .where(Observation.citizen_id == cid)
        .order_by(Observation.recorded_at.desc())
        .limit(HISTORY_LIMIT * 4)
    )
    return [
        ObservationPoint(
            code=o.code.value,
            value=o.value,
            note=o.note,
            recorded_at=o.recorded_at,
            author=author,
            visit_id=o.visit_id,
        )
        for o, author in rows
    ]


async def _tasks(session: AsyncSession, cid: int) -> list[TaskRow]:
    rows = await session.scalars(
        select(InboxItem)
        .where(InboxItem.citizen_id == cid, InboxItem.state.in_(ACTIVE))
        .order_by(InboxItem.created_at.desc())
    )
    return [TaskRow(t.id, t.kind.value, t.message, t.due_at, t.created_at) for t in rows]
