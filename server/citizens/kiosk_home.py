"""What the tablet's idle screen says about the next visit and the agreements, in plain Danish.

Which visit comes next is decided by the day list (``visits.daylist.next_visit``), the same
read model the call list and the calendar feed use; this module only words it for the citizen.
Times are the organisation's wall clock (``Settings.timezone``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import local_day
from ..visits.daylist import next_visit_for_citizen
from ..vocabulary import Channel
from . import agreements

AGREEMENTS_SHOWN_DAYS = 14


@dataclass(frozen=True, slots=True)
class NextVisit:
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


@dataclass(frozen=True, slots=True)
class TodayAgreements:
    """Today's agreement sheet as the citizen reads it: what you do, what we do, whom to call."""

    meeting_date: dt.date
    is_today: bool
    participants: list[str]
    topics: str | None
    citizen_does: str | None
    municipality_does: str | None
    phone: str | None
    version: int = 1
    follow_up_date: dt.date | None = None
    follow_up: str | None = None  # "Vi ses igen: tirsdag 15. december"
    follow_up_en: str | None = None  # "See you again: Tuesday 15 December"


def day_label(planned: dt.date, today: dt.date) -> str:
    """ "i dag", "i morgen" or the weekday and date, in Danish."""
    if planned == today:
        return "i dag"
    if planned == today + dt.timedelta(days=1):
        return "i morgen"
    return f"{format_date(planned, 'EEEE', locale='da')} d. {planned.day}."  # Babel's CLDR names


def sentence(
    staff_name: str | None, local: dt.datetime, day: str, type_name: str, channel: Channel
) -> str:
    """E.g. "Anna kommer på skærmen i dag kl. 08:00 — medicin" (or "på besøg" in person)."""
    who = staff_name.split()[0] if staff_name else "Hjemmeplejen"
    how = "på skærmen" if channel == Channel.SCREEN else "på besøg"
    return f"{who} kommer {how} {day} kl. {local:%H:%M} — {type_name.lower()}"


def follow_up_sentences(day: dt.date | None) -> tuple[str | None, str | None]:
    """The next follow-up in plain Danish (and English), or nothing when none is planned."""
    if day is None:
        return None, None
    da = format_date(day, "EEEE d. MMMM", locale="da")
    en = format_date(day, "EEEE d MMMM", locale="en")
    return f"Vi ses igen: {da}", f"See you again: {en}"


async def next_visit(
    session: AsyncSession, citizen_id: int, now: dt.datetime, zone: ZoneInfo
) -> NextVisit | None:
    """The next visit, ready for the idle screen; None when nothing is planned soon."""
    row = await next_visit_for_citizen(session, citizen_id, now, zone)
    if row is None:
        return None
    local = row.planned_at.astimezone(zone)
    day = day_label(local.date(), local_day(now, zone))
    staff_name = row.assigned_staff_name
    return NextVisit(
        visit_id=row.visit_id,
        planned_at=row.planned_at,
        local_time=f"{local:%H:%M}",
        day_label=day,
        type_code=row.visit_type,
        type_name=row.visit_type_name_da,
        type_name_en=row.visit_type_name_en,
        staff_name=staff_name,
        staff_photo_url=row.assigned_staff_photo_url,
        camera_off=row.camera_off,
        sentence=sentence(staff_name, local, day, row.visit_type_name_da, row.channel),
    )


async def todays_agreements(
    session: AsyncSession, citizen_id: int, now: dt.datetime, zone: ZoneInfo
) -> TodayAgreements | None:
    """The latest sheet, for two weeks after its meeting: it "stays with the citizen", and a
    citizen with a poor memory needs "what we do / call us" most in the days after. The sheet
    row is always a copy of its newest version (``agreements`` keeps them in step)."""
    today = local_day(now, zone)
    sheet = await agreements.latest(session, citizen_id, today)
    if sheet is None or (today - sheet.meeting_date).days > AGREEMENTS_SHOWN_DAYS:
        return None
    follow_up = follow_up_sentences(sheet.follow_up_date)
    return TodayAgreements(
        meeting_date=sheet.meeting_date,
        is_today=sheet.meeting_date == today,
        participants=list(sheet.participants),
        topics=sheet.topics,
        citizen_does=sheet.citizen_does,
        municipality_does=sheet.municipality_does,
        phone=sheet.contact_phone,
        version=sheet.version,
        follow_up_date=sheet.follow_up_date,
        follow_up=follow_up[0],
        follow_up_en=follow_up[1],
    )
