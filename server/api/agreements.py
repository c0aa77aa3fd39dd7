"""Agreement sheets over JSON: list, write and correct a citizen's "Aftaler i dag", and read
every version of a sheet (a correction is a new version; the old ones stay readable)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen
from ..citizens import agreements, relative_links
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import AgreementSheet, AgreementVersion, Citizen, Staff, utcnow
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="agreements")
logger = logging.getLogger(__name__)

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


class AgreementIn(WireModel):
    """A sheet as written after the meeting; the citizen's and relatives' words stay apart."""

    meeting_date: dt.date
    participants: Annotated[list[Name], Field(min_length=1, max_length=20)]
    topics: Text | None = None
    citizen_says: Text | None = None
    relatives_say: Text | None = None
    citizen_does: Text | None = None
    municipality_does: Text | None = None
    contact_phone: Phone | None = Field(None, description="Defaults to the team's phone.")
    visit_id: int | None = None
    follow_up_date: dt.date | None = Field(
        None, description="The next follow-up; not before the meeting date."
    )


class AgreementOut(WireModel):
    """A stored sheet."""

    id: int
    citizen_id: int
    visit_id: int | None
    meeting_date: dt.date
    participants: list[str]
    topics: str | None
    citizen_says: str | None
    relatives_say: str | None
    citizen_does: str | None
    municipality_does: str | None
    contact_phone: str | None
    follow_up_date: dt.date | None
    version: int = Field(description="The newest version's number; every correction adds one.")
    author_staff_id: int | None
    author_name: str | None
    updated_by_name: str | None = Field(description="Who wrote the newest version.")
    created_at: dt.datetime
    updated_at: dt.datetime


class VersionOut(WireModel):
    """One version of a sheet as it was written, with its author and time."""

    sheet_id: int
    version: int
    meeting_date: dt.date
    participants: list[str]
    topics: str | None
    citizen_says: str | None
    relatives_say: str | None
    citizen_does: str | None
    municipality_does: str | None
    contact_phone: str | None
    follow_up_date: dt.date | None
    author_staff_id: int | None
    author_name: str | None
    created_at: dt.datetime


class VersionList(WireModel):
    """A sheet's versions, newest first."""

    sheet_id: int
    citizen_id: int
    current: int
    versions: list[VersionOut]


class AgreementList(WireModel):
    """A citizen's sheets, newest meeting first, and whether the caller may write one."""

    citizen_id: int
    may_write: bool
    default_phone: str | None
    sheets: list[AgreementOut]


def _blank(value: str | None) -> str | None:
    return value or None


def _input(body: AgreementIn) -> agreements.SheetInput:
    return agreements.SheetInput(
        meeting_date=body.meeting_date,
        participants=tuple(body.participants),
        topics=_blank(body.topics),
        citizen_says=_blank(body.citizen_says),
        relatives_say=_blank(body.relatives_say),
        citizen_does=_blank(body.citizen_does),
        municipality_does=_blank(body.municipality_does),
        contact_phone=_blank(body.contact_phone),
        visit_id=body.visit_id,
        follow_up_date=body.follow_up_date,
    )


async def _name(session: AsyncSession, staff_id: int | None) -> str | None:
    staff = await session.get(Staff, staff_id) if staff_id else None
    return staff.display_name if staff else None


async def _out(session: AsyncSession, sheet: AgreementSheet) -> AgreementOut:
    return AgreementOut(
        id=sheet.id,
        citizen_id=sheet.citizen_id,
        visit_id=sheet.visit_id,
        meeting_date=sheet.meeting_date,
        participants=list(sheet.participants),
        topics=sheet.topics,
        citizen_says=sheet.citizen_says,
        relatives_say=sheet.relatives_say,
        citizen_does=sheet.citizen_does,
        municipality_does=sheet.municipality_does,
        contact_phone=sheet.contact_phone,
        follow_up_date=sheet.follow_up_date,
        version=sheet.version,
        author_staff_id=sheet.author_staff_id,
        author_name=await _name(session, sheet.author_staff_id),
        updated_by_name=await _name(session, sheet.updated_by_staff_id or sheet.author_staff_id),
        created_at=sheet.created_at,
        updated_at=sheet.updated_at,
    )


async def _version_out(session: AsyncSession, row: AgreementVersion) -> VersionOut:
    return VersionOut(
        sheet_id=row.sheet_id,
        version=row.version,
        meeting_date=row.meeting_date,
        participants=list(row.participants),
        topics=row.topics,
        citizen_says=row.citizen_says,
        relatives_say=row.relatives_say,
        citizen_does=row.citizen_does,
        municipality_does=row.municipality_does,
        contact_phone=row.contact_phone,
        follow_up_date=row.follow_up_date,
        author_staff_id=row.author_staff_id,
        author_name=await _name(session, row.author_staff_id),
        created_at=row.created_at,
    )


async def _readable_sheet(request: web.Request, session: AsyncSession) -> AgreementSheet:
    """The sheet in the path, of the citizen in the path, which the caller may see."""
    citizen_id = int(request.match_info["citizen_id"])
    await require_citizen(request, session, citizen_id)
    sheet = await session.get(AgreementSheet, int(request.match_info["sheet_id"]))
    if sheet is None or sheet.citizen_id != citizen_id:
        raise NotFound(N_("Aftalearket findes ikke."))
    return sheet


def _today(request: web.Request) -> dt.date:
    return local_day(utcnow(), request.app[settings_key].zone)


def _audit(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    action: str,
    sheet: AgreementSheet,
) -> None:
    audit.record(
        session,
        action,
        actor=identity,
        subject=("citizen", sheet.citizen_id),
        detail={"agreement": sheet.id},
        request=request,
    )


async def _writable(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> tuple[StaffIdentity, Citizen]:
    identity, citizen = await require_citizen(request, session, citizen_id)
    if not agreements.may_write(identity, citizen):
        # Its own transaction: the request's one is rolled back when the refusal propagates.
        async with request.app[sessionmaker_key].begin() as denied:
            audit.record(
                denied,
                "agreement.write_denied",
                actor=identity,
                subject=("citizen", citizen_id),
                request=request,
            )
        raise agreements.MayNotWrite()
    return identity, citizen


@api.get(
    r"/api/citizens/{citizen_id:\d+}/agreements",
    response=AgreementList,
    summary="A citizen's agreement sheets, newest meeting first",
)
async def list_agreements(request: web.Request) -> AgreementList:
    """Every sheet of a citizen the caller may see (the read is audited)."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        sheets = await agreements.sheets_for(session, citizen_id)
        return AgreementList(
            citizen_id=citizen_id,
            may_write=agreements.may_write(identity, citizen),
            default_phone=await agreements.team_phone(session, citizen),
            sheets=[await _out(session, sheet) for sheet in sheets],
        )


@api.post(
    r"/api/citizens/{citizen_id:\d+}/agreements",
    body=AgreementIn,
    response=AgreementOut,
    status=201,
    summary="Write an agreement sheet after a meeting",
)
async def create_agreement(request: web.Request, body: AgreementIn) -> AgreementOut:
    """A new sheet; visitators, planners, administrators and the team's nurses write them."""
    citizen_id = int(request.match_info["citizen_id"])
    data = _input(body)
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await _writable(request, session, citizen_id)
        agreements.check(data, _today(request))
        sheet = await agreements.create(session, identity, citizen, data)
        _audit(request, session, identity, "agreement.create", sheet)
        # E-mailed by the notice job: a slow or failing mail server never holds up the save.
        await relative_links.queue_mails(session, identity, citizen, sheet, utcnow())
        return await _out(session, sheet)


@api.post(
    r"/api/agreements/{sheet_id:\d+}/edit",
    body=AgreementIn,
    response=AgreementOut,
    summary="Correct an agreement sheet (the whole sheet is replaced)",
)
async def update_agreement(request: web.Request, body: AgreementIn) -> AgreementOut:
    """Replace a sheet's content; the audit log keeps who changed it."""
    data = _input(body)
    async with request.app[sessionmaker_key].begin() as session:
        sheet = await session.get(AgreementSheet, int(request.match_info["sheet_id"]))
        if sheet is None:
            raise NotFound(N_("Aftalearket findes ikke."))
        identity, citizen = await _writable(request, session, sheet.citizen_id)
        agreements.check(data, _today(request))
        sheet = await agreements.update(session, identity, citizen, sheet, data)
        _audit(request, session, identity, "agreement.update", sheet)
        # E-mailed by the notice job: a slow or failing mail server never holds up the save.
        await relative_links.queue_mails(session, identity, citizen, sheet, utcnow())
        return await _out(session, sheet)


@api.get(
    r"/api/citizens/{citizen_id:\d+}/agreements/{sheet_id:\d+}/versions",
    response=VersionList,
    summary="Every version of an agreement sheet, newest first",
)
async def list_versions(request: web.Request) -> VersionList:
    """What was written each time, by whom and when (the read is audited with the citizen)."""
    async with request.app[sessionmaker_key].begin() as session:
        sheet = await _readable_sheet(request, session)
        rows = await agreements.versions(session, sheet.id)
        return VersionList(
            sheet_id=sheet.id,
            citizen_id=sheet.citizen_id,
            current=sheet.version,
            versions=[await _version_out(session, row) for row in rows],
        )


@api.get(
    r"/api/citizens/{citizen_id:\d+}/agreements/{sheet_id:\d+}/versions/{version:\d+}",
    response=VersionOut,
    summary="One version of an agreement sheet as it was written",
)
async def get_version(request: web.Request) -> VersionOut:
    """An old version stays readable after later corrections."""
    async with request.app[sessionmaker_key].begin() as session:
        sheet = await _readable_sheet(request, session)
        row = await agreements.version(session, sheet.id, int(request.match_info["version"]))
        if row is None:
            raise NotFound(N_("Den udgave af aftalearket findes ikke."))
        return await _version_out(session, row)
