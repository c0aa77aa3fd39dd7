"""Agreement sheets ("Aftaler i dag"): who may write them, checks, and the queries pages need.

A sheet is written at a visitation or start-up meeting and stays with the citizen: the tablet
shows the day's sheet, the call view shows the latest one, the citizen page lists them all.

This module is the one writer of sheets. Every write (the first one too) adds an
`AgreementVersion` with its author and time, and the sheet row becomes a copy of the newest
version, in the same transaction: what was agreed on the day stays readable after corrections.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Forbidden, InvalidInput
from ..identity import StaffIdentity
from ..models import AgreementSheet, AgreementVersion, Citizen, Role, Staff, Team, Visit, utcnow
from ..translatable import N_

WRITER_ROLES = frozenset({Role.VISITATOR, Role.PLANNER, Role.ADMIN})
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,38}$")
# A sheet is about a real meeting: not years back, not far ahead.
MAX_PAST = dt.timedelta(days=366)
MAX_AHEAD = dt.timedelta(days=31)
# The next follow-up is planned at the meeting: on or after it, within two years.
MAX_FOLLOW_UP = dt.timedelta(days=731)
# The fields a version copies from the sheet (and the sheet from its newest version).
CONTENT = (
    "meeting_date",
    "participants",
    "topics",
    "citizen_says",
    "relatives_say",
    "citizen_does",
    "municipality_does",
    "contact_phone",
    "follow_up_date",
)


class SheetEmpty(InvalidInput):
    """A sheet must say what the citizen does or what the municipality does."""

    code = "agreements_empty"
    default_message = N_("Skriv, hvad borgeren gør, eller hvad kommunen gør.")


class BadPhone(InvalidInput):
    """The contact phone is not a phone number."""

    code = "invalid_phone"
    default_message = N_("Telefonnummeret må kun have cifre, mellemrum, '-' og et '+' forrest.")


class BadMeetingDate(InvalidInput):
    """The meeting date is too far in the past or the future."""

    code = "invalid_meeting_date"
    default_message = N_("Mødedatoen skal ligge inden for det seneste år eller den næste måned.")


class BadFollowUp(InvalidInput):
    """The next follow-up is before the meeting, or years ahead."""

    code = "invalid_follow_up_date"
    default_message = N_(
        "Næste opfølgning skal ligge på mødedagen eller senere (højst to år efter)."
    )


class BadVisit(InvalidInput):
    """The visit given is not one of this citizen's visits."""

    code = "invalid_visit"
    default_message = N_("Besøget hører ikke til denne borger.")


class MayNotWrite(Forbidden):
    """Reading is allowed, writing is not (e.g. a carer, or a nurse of another team)."""

    code = "agreements_write_forbidden"
    default_message = N_(
        "Kun visitatorer, planlæggere, administratorer og teamets sygeplejersker skriver aftaleark."
    )


@dataclass(frozen=True, slots=True)
class SheetInput:
    """What a writer sends; blank strings are already turned into None."""

    meeting_date: dt.date
    participants: tuple[str, ...]
    topics: str | None
    citizen_says: str | None
    relatives_say: str | None
    citizen_does: str | None
    municipality_does: str | None
    contact_phone: str | None
    visit_id: int | None
    follow_up_date: dt.date | None = None


def may_write(identity: StaffIdentity, citizen: Citizen) -> bool:
    """Visitators, planners, administrators of the organisation, and nurses of its team."""
    if identity.organisation_id != citizen.organisation_id:
        return False
    if identity.role in WRITER_ROLES:
        return True
    return identity.role == Role.NURSE and citizen.team_id in identity.team_ids


def check(data: SheetInput, today: dt.date) -> None:
    """Content rules beyond field types; raises a coded InvalidInput."""
    if not (data.citizen_does or data.municipality_does):
        raise SheetEmpty()
    if data.contact_phone is not None and not PHONE.match(data.contact_phone):
        raise BadPhone()
    day = dt.timedelta(days=1)
    if not today - MAX_PAST - day <= data.meeting_date <= today + MAX_AHEAD + day:
        raise BadMeetingDate()
    follow_up = data.follow_up_date
    if follow_up is not None and not (
        data.meeting_date <= follow_up <= data.meeting_date + MAX_FOLLOW_UP
    ):
        raise BadFollowUp()


async def team_phone(session: AsyncSession, citizen: Citizen) -> str | None:
    """The citizen's team's phone: the default number on a sheet."""
    phone: str | None = await session.scalar(select(Team.phone).where(Team.id == citizen.team_id))
    return phone


async def _check_visit(session: AsyncSession, citizen: Citizen, visit_id: int | None) -> None:
    if visit_id is None:
        return
    found = await session.scalar(
        select(Visit.id).where(Visit.id == visit_id, Visit.citizen_id == citizen.id)
    )
    if found is None:
        raise BadVisit()


def _apply(sheet: AgreementSheet, data: SheetInput, phone: str | None) -> None:
    sheet.meeting_date = data.meeting_date
    sheet.participants = list(data.participants)
    sheet.topics = data.topics
    sheet.citizen_says = data.citizen_says
    sheet.relatives_say = data.relatives_say
    sheet.citizen_does = data.citizen_does
    sheet.municipality_does = data.municipality_does
    sheet.contact_phone = data.contact_phone or phone
    sheet.follow_up_date = data.follow_up_date
    sheet.visit_id = data.visit_id


def version_row(sheet: AgreementSheet, staff_id: int | None, now: dt.datetime) -> AgreementVersion:
    """The sheet's current content as a version row (kept for good)."""
    row = AgreementVersion(
        sheet_id=sheet.id, version=sheet.version, author_staff_id=staff_id, created_at=now
    )
    for name in CONTENT:
        value = getattr(sheet, name)
        setattr(row, name, list(value) if name == "participants" else value)
    return row


async def create(
    session: AsyncSession, identity: StaffIdentity, citizen: Citizen, data: SheetInput
) -> AgreementSheet:
    """Add a sheet as version 1; the phone defaults to the team's phone."""
    await _check_visit(session, citizen, data.visit_id)
    now = utcnow()
    sheet = AgreementSheet(
        citizen_id=citizen.id,
        author_staff_id=identity.staff_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _apply(sheet, data, await team_phone(session, citizen))
    session.add(sheet)
    await session.flush()
    session.add(version_row(sheet, identity.staff_id, now))
    await session.flush()
    return sheet


async def update(
    session: AsyncSession,
    identity: StaffIdentity,
    citizen: Citizen,
    sheet: AgreementSheet,
    data: SheetInput,
) -> AgreementSheet:
    """A new version of a sheet: the row shows it, the earlier versions stay as they were.

    The row is locked first (PostgreSQL), so two corrections at once get versions n+1 and n+2
    instead of one failing on the unique (sheet, version).
    """
    await _check_visit(session, citizen, data.visit_id)
    await session.refresh(sheet, with_for_update=True)
    now = utcnow()
    _apply(sheet, data, await team_phone(session, citizen))
    sheet.version += 1
    sheet.updated_by_staff_id = identity.staff_id
    sheet.updated_at = now
    session.add(version_row(sheet, identity.staff_id, now))
    await session.flush()
    return sheet


async def versions(session: AsyncSession, sheet_id: int) -> list[AgreementVersion]:
    """Every version of a sheet, newest first."""
    rows = await session.scalars(
        select(AgreementVersion)
        .where(AgreementVersion.sheet_id == sheet_id)
        .order_by(AgreementVersion.version.desc())
    )
    return list(rows)


async def version(session: AsyncSession, sheet_id: int, number: int) -> AgreementVersion | None:
    """One version of a sheet as it was written."""
    row: AgreementVersion | None = await session.scalar(
        select(AgreementVersion).where(
            AgreementVersion.sheet_id == sheet_id, AgreementVersion.version == number
        )
    )
    return row


async def sheets_for(session: AsyncSession, citizen_id: int) -> list[AgreementSheet]:
    """Every sheet of a citizen, newest meeting first."""
    rows = await session.scalars(
        select(AgreementSheet)
        .where(AgreementSheet.citizen_id == citizen_id)
        .order_by(AgreementSheet.meeting_date.desc(), AgreementSheet.id.desc())
    )
    return list(rows)


async def latest(session: AsyncSession, citizen_id: int, today: dt.date) -> AgreementSheet | None:
    """Today's sheet, else the most recent earlier one (a later meeting is not yet agreed)."""
    sheet: AgreementSheet | None = await session.scalar(
        select(AgreementSheet)
        .where(AgreementSheet.citizen_id == citizen_id, AgreementSheet.meeting_date <= today)
        .order_by(AgreementSheet.meeting_date.desc(), AgreementSheet.id.desc())
        .limit(1)
    )
    return sheet


@dataclass(frozen=True, slots=True)
class SheetHistory:
    """A sheet with its versions (newest first) and who wrote each, for the citizen page."""

    sheet: AgreementSheet
    versions: list[AgreementVersion]
    names: dict[int, str]

    @property
    def editor(self) -> str | None:
        """Who wrote the newest version."""
        staff_id = self.sheet.updated_by_staff_id or self.sheet.author_staff_id
        return self.names.get(staff_id) if staff_id else None


async def histories(session: AsyncSession, sheets: list[AgreementSheet]) -> list[SheetHistory]:
    """Each sheet's versions and their authors' names, in two queries."""
    ids = [sheet.id for sheet in sheets]
    rows = list(
        await session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.sheet_id.in_(ids))
            .order_by(AgreementVersion.sheet_id, AgreementVersion.version.desc())
        )
    )
    staff_ids = {r.author_staff_id for r in rows} | {
        s.updated_by_staff_id or s.author_staff_id for s in sheets
    }
    found = await session.execute(
        select(Staff.id, Staff.display_name).where(Staff.id.in_([i for i in staff_ids if i]))
    )
    names = {staff_id: name for staff_id, name in found}
    return [
        SheetHistory(sheet, [r for r in rows if r.sheet_id == sheet.id], names) for sheet in sheets
    ]
