"""What the tablet's idle screen says about the next visit, in plain Danish.

Which visit comes next is decided by ``server.scheduling.daylist.next_visit_for_citizen``, the
same rule the call list and the calendar feed use; this module only words it for the citizen.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import agreements
from .api.models import WireModel
from .models import Channel, Staff, Visit, VisitType
from .scheduling.daylist import next_visit_for_citizen


class NextVisit(WireModel):
    """The next screen visit as the citizen sees it."""

    visit_id: int
    planned_at: dt.datetime
    local_time: str
    day_label: str
    type_code: str
    type_name: str
    type_name_en: str
    staff_name: str | None
    staff_photo_url: str | None
    camera_off: bool
    sentence: str


async def _next_visit_row(
    session: AsyncSession, citizen_id: int, now: dt.datetime
) -> tuple[Visit, VisitType, Staff | None] | None:
    """The same next visit the scheduler, the call list and the calendar feed agree on."""
    found = await next_visit_for_citizen(session, citizen_id, now)
    if found is None:
        return None
    row = (
        await session.execute(
            select(Visit, VisitType, Staff)
            .join(VisitType, VisitType.id == Visit.visit_type_id)
            .outerjoin(Staff, Staff.id == Visit.assigned_staff_id)
            .where(Visit.id == found.visit_id)
        )
    ).first()
    if row is None:
        return None
    visit, vtype, staff = row
    return visit, vtype, staff


def day_label(planned: dt.date, today: dt.date) -> str:
    """ "i dag", "i morgen" or the weekday and date, in Danish."""
    if planned == today:
        return "i dag"
    if planned == today + dt.timedelta(days=1):
        return "i morgen"
    weekdays = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
    return f"{weekdays[planned.weekday()]} d. {planned.day}."


def sentence(
    staff_name: str | None, local: dt.datetime, day: str, type_name: str, channel: Channel
) -> str:
    """E.g. "Anna kommer på skærmen i dag kl. 08:00 — medicin" (or "på besøg" in person)."""
    who = staff_name.split()[0] if staff_name else "Hjemmeplejen"
    how = "på skærmen" if channel == Channel.SCREEN else "på besøg"
    return f"{who} kommer {how} {day} kl. {local:%H:%M} — {type_name.lower()}"


async def next_visit(
    session: AsyncSession, citizen_id: int, now: dt.datetime, timezone: str
) -> NextVisit | None:
    """The next visit, ready for the idle screen; None when nothing is planned this week."""
    found = await _next_visit_row(session, citizen_id, now)
    if found is None:
        return None
    visit, vtype, staff = found
    tz = ZoneInfo(timezone)
    local = visit.planned_at.astimezone(tz)
    day = day_label(local.date(), now.astimezone(tz).date())
    staff_name = staff.display_name if staff is not None else None
    return NextVisit(
        visit_id=visit.id,
        planned_at=visit.planned_at,
        local_time=f"{local:%H:%M}",
        day_label=day,
        type_code=vtype.code,
        type_name=vtype.name_da,
        type_name_en=vtype.name_en,
        staff_name=staff_name,
        staff_photo_url=staff.photo_url if staff is not None else None,
        camera_off=vtype.camera_off_by_default,
        sentence=sentence(staff_name, local, day, vtype.name_da, visit.channel),
    )


AGREEMENTS_SHOWN_DAYS = 14


class TodayAgreements(WireModel):
    """Today's agreement sheet as the citizen reads it: what you do, what we do, whom to call."""

    meeting_date: dt.date
    is_today: bool
    participants: list[str]
    topics: str | None
    citizen_does: str | None
    municipality_does: str | None
    phone: str | None


async def todays_agreements(
    session: AsyncSession, citizen_id: int, now: dt.datetime, timezone: str
) -> TodayAgreements | None:
    """The latest sheet, for two weeks after its meeting: it "stays with the citizen", and a
    citizen with a poor memory needs "what we do / call us" most in the days after."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    sheet = await agreements.latest(session, citizen_id, today)
    if sheet is None or (today - sheet.meeting_date).days > AGREEMENTS_SHOWN_DAYS:
        return None
    return TodayAgreements(
        meeting_date=sheet.meeting_date,
        is_today=sheet.meeting_date == today,
        participants=list(sheet.participants),
        topics=sheet.topics,
        citizen_does=sheet.citizen_does,
        municipality_does=sheet.municipality_does,
        phone=sheet.contact_phone,
    )
