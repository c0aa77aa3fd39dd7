"""Everything the citizen page shows, read in one session: plans, people, consents, tablet,
call history (metadata only) and observations over time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import (
    Call,
    CareTask,
    Citizen,
    Consent,
    ContactPerson,
    KioskDevice,
    KioskSelfTest,
    Observation,
    Outcome,
    Relative,
    Staff,
    Visit,
    VisitPlan,
    VisitType,
)
from ..scheduling.rrule_text import describe

HISTORY_LIMIT = 50


class PlanOut(BaseModel):
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


class ContactOut(BaseModel):
    """A contact person."""

    staff_id: int
    display_name: str
    priority: int


class ConsentOut(BaseModel):
    """A consent, withdrawn ones included (history)."""

    id: int
    kind: str
    scope: dict[str, Any]
    granted_by: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None


class RelativeOut(BaseModel):
    """A relative and what they may do."""

    id: int
    name: str
    relation: str
    phone: str | None
    may_join_meetings: bool
    may_call: bool
    may_see_agreements: bool
    may_be_notified: bool


class TabletOut(BaseModel):
    """A tablet lent to the citizen, with its latest self-test."""

    id: int
    label: str
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    selftest_ok: bool | None
    selftest_at: dt.datetime | None
    selftest_failed_part: str | None


class CallOut(BaseModel):
    """One call's metadata: never media."""

    public_id: str
    caller: str | None
    visit_id: int | None
    ring_started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    duration_s: int | None


class VisitOut(BaseModel):
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


class ObservationPoint(BaseModel):
    """An observation over time."""

    code: str
    value: str | None
    note: str | None
    recorded_at: dt.datetime
    author: str | None
    visit_id: int | None


class TaskOut(BaseModel):
    """An open task for the team about this citizen."""

    id: int
    kind: str
    reason: str | None
    due_at: dt.datetime | None
    created_at: dt.datetime


class CitizenOverview(BaseModel):
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
    visits: list[VisitOut]
    observations: list[ObservationPoint]
    tasks: list[TaskOut]


async def overview(session: AsyncSession, citizen: Citizen, lang: str) -> CitizenOverview:
    """Read the whole page for ``citizen`` (access already checked and audited)."""
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
        contacts=await _contacts(session, cid),
        consents=[
            ConsentOut.model_validate(c, from_attributes=True)
            for c in await session.scalars(
                select(Consent).where(Consent.citizen_id == cid).order_by(Consent.granted_at)
            )
        ],
        relatives=[
            RelativeOut.model_validate(r, from_attributes=True)
            for r in await session.scalars(
                select(Relative).where(Relative.citizen_id == cid).order_by(Relative.name)
            )
        ],
        tablets=await _tablets(session, cid),
        calls=await _calls(session, cid),
        visits=await _visits(session, cid, lang),
        observations=await _observations(session, cid),
        tasks=await _tasks(session, cid),
    )


def _type_name(vtype: VisitType, lang: str) -> str:
    return vtype.name_en if lang == "en" else vtype.name_da


async def _plans(session: AsyncSession, cid: int, lang: str) -> list[PlanOut]:
    rows = await session.execute(
        select(VisitPlan, VisitType)
        .join(VisitType, VisitType.id == VisitPlan.visit_type_id)
        .where(VisitPlan.citizen_id == cid)
        .order_by(VisitPlan.local_time)
    )
    return [
        PlanOut(
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


async def _contacts(session: AsyncSession, cid: int) -> list[ContactOut]:
    rows = await session.execute(
        select(ContactPerson.staff_id, Staff.display_name, ContactPerson.priority)
        .join(Staff, Staff.id == ContactPerson.staff_id)
        .where(ContactPerson.citizen_id == cid)
        .order_by(ContactPerson.priority)
    )
    return [ContactOut(staff_id=s, display_name=n, priority=p) for s, n, p in rows]


async def _tablets(session: AsyncSession, cid: int) -> list[TabletOut]:
    kiosks = (
        await session.scalars(
            select(KioskDevice).where(KioskDevice.citizen_id == cid).order_by(KioskDevice.id)
        )
    ).all()
    result = []
    for kiosk in kiosks:
        test = await session.scalar(
            select(KioskSelfTest)
            .where(KioskSelfTest.kiosk_id == kiosk.id)
            .order_by(KioskSelfTest.at.desc())
            .limit(1)
        )
        result.append(
            TabletOut(
                id=kiosk.id,
                label=kiosk.label,
                enrolled_at=kiosk.enrolled_at,
                revoked_at=kiosk.revoked_at,
                last_seen_at=kiosk.last_seen_at,
                selftest_ok=test.ok if test else None,
                selftest_at=test.at if test else None,
                selftest_failed_part=test.failed_part if test else None,
            )
        )
    return result


async def _calls(session: AsyncSession, cid: int) -> list[CallOut]:
    rows = await session.execute(
        select(Call, Staff.display_name)
        .outerjoin(Staff, Staff.id == Call.caller_staff_id)
        .where(Call.citizen_id == cid)
        .order_by(Call.ring_started_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return [
        CallOut(
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


async def _visits(session: AsyncSession, cid: int, lang: str) -> list[VisitOut]:
    rows = (
        await session.execute(
            select(Visit, VisitType)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .where(Visit.citizen_id == cid)
            .order_by(Visit.planned_at.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    ids = [visit.id for visit, _ in rows]
    versions = (
        await session.scalars(select(Outcome).where(Outcome.visit_id.in_(ids)).order_by(Outcome.id))
    ).all()
    replaced = {o.amends_id for o in versions if o.amends_id}
    current = {o.visit_id: o for o in versions if o.id not in replaced}
    return [
        VisitOut(
            id=visit.id,
            planned_at=visit.planned_at,
            visit_type_name=_type_name(vtype, lang),
            channel=visit.channel.value,
            status=visit.status.value,
            outcome=current[visit.id].kind.value if visit.id in current else None,
            reason=current[visit.id].reason if visit.id in current else None,
            outcome_id=current[visit.id].id if visit.id in current else None,
            amended=bool(current.get(visit.id) and current[visit.id].amends_id),
        )
        for visit, vtype in rows
    ]


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


async def _tasks(session: AsyncSession, cid: int) -> list[TaskOut]:
    rows = await session.scalars(
        select(CareTask)
        .where(CareTask.citizen_id == cid, CareTask.done_at.is_(None))
        .order_by(CareTask.created_at.desc())
    )
    return [TaskOut.model_validate(t, from_attributes=True) for t in rows]
