"""Agreement sheets over JSON: list, write and correct a citizen's "Aftaler i dag"."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen
from ..citizens import agreements
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import AgreementSheet, Citizen, Staff, utcnow
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="agreements")

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
    author_staff_id: int | None
    author_name: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


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
    )


async def _out(session: AsyncSession, sheet: AgreementSheet) -> AgreementOut:
    author = await session.get(Staff, sheet.author_staff_id) if sheet.author_staff_id else None
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
        author_staff_id=sheet.author_staff_id,
        author_name=author.display_name if author else None,
        created_at=sheet.created_at,
        updated_at=sheet.updated_at,
    )


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
        return await _out(session, sheet)
