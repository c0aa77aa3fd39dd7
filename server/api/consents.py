"""The consent register and relatives over JSON: record, withdraw, history; relatives and
what each may do.

Everyone who may see the citizen reads; visitators, planners, administrators and the team's
nurses write (a refusal is audited). A citizen of another organisation is not found (404).
Malformed JSON is 400 `invalid_input`; content the register refuses is 422 with its own code
(`invalid_scope`, `relative_required`, `given_by_required`, ...).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen, require_staff
from ..citizens import consents, relatives
from ..citizens.consents import Author, ConsentEntry, Giver, GiverKind
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key
from ..models import Citizen, Consent, Relative, utcnow
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="consents")

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
Permission = Literal["join_meetings", "call", "see_agreements", "be_notified"]


class GiverIn(WireModel):
    """Who gave or withdrew a consent; a relative, guardian or other person by name."""

    kind: Literal["citizen", "relative", "guardian", "other"]
    name: Name | None = None


class GiverOut(WireModel):
    """Who gave or withdrew; `replaced` and `relative_removed` are written by the register."""

    kind: str
    name: str | None


class ConsentIn(WireModel):
    """A consent to record; an active one of the same kind (and relative) is replaced."""

    kind: Annotated[str, Field(max_length=32, description="screen_visits, auto_answer, ...")]
    given_by: GiverIn
    scope: dict[str, Any] = Field(
        default_factory=dict,
        description='auto_answer only: {"windows": [{"start": "07:00", "end": "09:00", '
        '"weekdays": [0, 1, 2, 3, 4]}], "callers": ["contact_persons", "team"], '
        '"staff_ids": [12]}; windows in the organisation\'s time zone, none = any time.',
    )
    relative_id: int | None = Field(None, description="Required for the relative kinds.")
    note: Note | None = None


class WithdrawIn(WireModel):
    """Who withdrew the consent (the staff member recording it is the caller)."""

    withdrawn_by: GiverIn


class ConsentOut(WireModel):
    """A consent in the history."""

    id: int
    kind: str
    relative_id: int | None
    relative_name: str | None
    scope: dict[str, Any]
    given_by: GiverOut
    granted_at: dt.datetime
    recorded_by: str | None
    note: str | None
    active: bool
    withdrawn_at: dt.datetime | None
    withdrawn_by: GiverOut | None
    withdrawn_by_staff: str | None


class RelativeIn(WireModel):
    """Who a relative is, and (when adding) what they may do and who gave that consent."""

    name: Name | None = None
    relation: Short | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    email: Contact | None = None
    permissions: dict[Permission, bool] = Field(default_factory=dict)
    given_by: GiverIn | None = Field(None, description="Needed when permissions are granted.")


class PermissionsIn(WireModel):
    """Permissions to grant (true) or withdraw (false); the others stay as they are."""

    permissions: dict[Permission, bool]
    given_by: GiverIn
    note: Note | None = None


class Empty(WireModel):
    """No fields."""


class RelativeOut(WireModel):
    """A relative and what they may do (from their active consents)."""

    id: int
    citizen_id: int
    name: str
    relation: str
    phone: str | None
    email: str | None
    created_at: dt.datetime | None
    removed_at: dt.datetime | None
    permissions: dict[str, bool]


class StaffOut(WireModel):
    """A staff member an auto-answer consent may name."""

    id: int
    name: str


class RegisterOut(WireModel):
    """A citizen's consents (active, and the whole history) and relatives."""

    citizen_id: int
    may_write: bool
    suggested_auto_answer: bool = Field(
        description="The organisation's auto_answer_default: pre-select auto-answer."
    )
    active: list[ConsentOut]
    history: list[ConsentOut]
    relatives: list[RelativeOut]
    callers: list[StaffOut]


class RelativeList(WireModel):
    """A citizen's relatives, current ones first, removed ones kept as history."""

    citizen_id: int
    may_write: bool
    relatives: list[RelativeOut]


def _giver(raw: GiverIn) -> Giver:
    return Giver(GiverKind(raw.kind), raw.name or None)


def _giver_out(giver: Giver | None) -> GiverOut | None:
    return GiverOut(kind=giver.kind.value, name=giver.name) if giver else None


def consent_out(entry: ConsentEntry) -> ConsentOut:
    """The wire shape of a history entry."""
    given = GiverOut(kind=entry.given_by.kind.value, name=entry.given_by.name)
    return ConsentOut(
        id=entry.id,
        kind=entry.kind,
        relative_id=entry.relative_id,
        relative_name=entry.relative_name,
        scope=entry.scope,
        given_by=given,
        granted_at=entry.granted_at,
        recorded_by=entry.recorded_by,
        note=entry.note,
        active=entry.active,
        withdrawn_at=entry.withdrawn_at,
        withdrawn_by=_giver_out(entry.withdrawn_by),
        withdrawn_by_staff=entry.withdrawn_by_staff,
    )


def relative_out(relative: Relative) -> RelativeOut:
    """The wire shape of a relative; permissions read from the register's cached flags."""
    flags = consents.RELATIVE_FLAGS
    return RelativeOut(
        id=relative.id,
        citizen_id=relative.citizen_id,
        name=relative.name,
        relation=relative.relation,
        phone=relative.phone,
        email=relative.email,
        created_at=relative.created_at,
        removed_at=relative.removed_at,
        permissions={
            name: bool(getattr(relative, flags[kind]))
            for name, kind in relatives.PERMISSIONS.items()
        },
    )


async def _citizen(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> tuple[StaffIdentity, Citizen]:
    """A citizen the caller may see; one of another organisation does not exist for them."""
    identity = require_staff(request)
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None or citizen.organisation_id != identity.organisation_id:
        raise NotFound(N_("Borgeren findes ikke."))
    return await require_citizen(request, session, citizen_id)


async def _writable(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> tuple[Author, Citizen]:
    identity, citizen = await _citizen(request, session, citizen_id)
    if not consents.may_write(identity, citizen):
        # Its own transaction: the request's one is rolled back when the refusal propagates.
        async with request.app[sessionmaker_key].begin() as denied:
            audit.record(
                denied,
                "consent.write_denied",
                actor=identity,
                subject=("citizen", citizen_id),
                request=request,
            )
        raise consents.MayNotWrite()
    return Author(identity, request), citizen


async def _entry(session: AsyncSession, citizen_id: int, consent_id: int) -> ConsentOut:
    entries = await consents.history(session, citizen_id)
    return consent_out(next(e for e in entries if e.id == consent_id))


async def _relative(session: AsyncSession, request: web.Request) -> Relative:
    require_staff(request)  # before the lookup: a stranger learns nothing of which ids exist
    relative = await session.get(Relative, int(request.match_info["relative_id"]))
    if relative is None:
        raise NotFound(N_("Den pårørende findes ikke."))
    return relative


@api.get(
    r"/api/citizens/{citizen_id:\d+}/consents",
    response=RegisterOut,
    summary="A citizen's consents (active and history) and relatives",
)
async def get_register(request: web.Request) -> RegisterOut:
    """The register as the consent form needs it, with the suggested auto-answer choice."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await _citizen(request, session, citizen_id)
        view = await relatives.register_view(session, identity, citizen)
        history = [consent_out(e) for e in view.consents]
        return RegisterOut(
            citizen_id=citizen_id,
            may_write=view.may_write,
            suggested_auto_answer=view.suggested_auto_answer,
            active=[c for c in history if c.active],
            history=history,
            relatives=[relative_out(r) for r in view.relatives],
            callers=[StaffOut(id=s.id, name=s.name) for s in view.callers],
        )


@api.post(
    r"/api/citizens/{citizen_id:\d+}/consents",
    body=ConsentIn,
    response=ConsentOut,
    status=201,
    summary="Record a consent (replaces an active one of the same kind)",
)
async def record_consent(request: web.Request, body: ConsentIn) -> ConsentOut:
    """Record a consent given by the citizen, a relative or a guardian."""
    citizen_id = int(request.match_info["citizen_id"])
    data = consents.ConsentInput(
        body.kind, _giver(body.given_by), body.scope, body.relative_id, body.note
    )
    async with request.app[sessionmaker_key].begin() as session:
        author, citizen = await _writable(request, session, citizen_id)
        consent = await consents.record(session, author, citizen, data, utcnow())
        return await _entry(session, citizen_id, consent.id)


@api.post(
    r"/api/consents/{consent_id:\d+}/withdraw",
    body=WithdrawIn,
    response=ConsentOut,
    summary="Withdraw a consent, saying who withdrew it",
)
async def withdraw_consent(request: web.Request, body: WithdrawIn) -> ConsentOut:
    """The consent stays in the history, marked withdrawn by whom and when."""
    consent_id = int(request.match_info["consent_id"])
    async with request.app[sessionmaker_key].begin() as session:
        consent = await session.get(Consent, consent_id, with_for_update=True)
        if consent is None:
            raise NotFound(N_("Samtykket findes ikke."))
        author, citizen = await _writable(request, session, consent.citizen_id)
        by = _giver(body.withdrawn_by)
        await consents.withdraw(session, author, citizen, consent, by, utcnow())
        return await _entry(session, citizen.id, consent.id)


@api.get(
    r"/api/citizens/{citizen_id:\d+}/relatives",
    response=RelativeList,
    summary="A citizen's relatives and what each may do",
)
async def list_relatives(request: web.Request) -> RelativeList:
    """Current relatives first; removed ones stay listed with `removed_at`."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await _citizen(request, session, citizen_id)
        rows = await relatives.relatives_of(session, citizen_id)
        return RelativeList(
            citizen_id=citizen_id,
            may_write=consents.may_write(identity, citizen),
            relatives=[relative_out(r) for r in rows],
        )


def _relative_input(body: RelativeIn) -> relatives.RelativeInput:
    return relatives.RelativeInput(
        name=body.name or None,
        relation=body.relation or None,
        phone=body.phone or None,
        email=body.email or None,
    )


@api.post(
    r"/api/citizens/{citizen_id:\d+}/relatives",
    body=RelativeIn,
    response=RelativeOut,
    status=201,
    summary="Add a relative, with the permissions the citizen gives them",
)
async def add_relative(request: web.Request, body: RelativeIn) -> RelativeOut:
    """A new relative; each permission granted is recorded as a consent given by `given_by`."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        author, citizen = await _writable(request, session, citizen_id)
        now = utcnow()
        relative = await relatives.add(session, author, citizen, _relative_input(body), now)
        granted: dict[str, bool] = {k: v for k, v in body.permissions.items() if v}
        if granted:
            if body.given_by is None:
                raise consents.GiverRequired("Say who gave the relative these permissions.")
            change = relatives.PermissionChange(granted, _giver(body.given_by))
            await relatives.set_permissions(session, author, citizen, relative, change, now)
        return relative_out(relative)


@api.post(
    r"/api/relatives/{relative_id:\d+}",
    body=RelativeIn,
    response=RelativeOut,
    summary="Edit who a relative is (name, relation, phone, e-mail)",
)
async def edit_relative(request: web.Request, body: RelativeIn) -> RelativeOut:
    """Replace the relative's details; permissions change through their own operation."""
    if body.permissions or body.given_by is not None:
        raise consents.Unprocessable(
            "Change permissions with POST /api/relatives/{id}/permissions.",
            details={"field": "permissions"},
        )
    async with request.app[sessionmaker_key].begin() as session:
        relative = await _relative(session, request)
        author, citizen = await _writable(request, session, relative.citizen_id)
        await relatives.edit(session, author, citizen, relative, _relative_input(body))
        return relative_out(relative)


@api.post(
    r"/api/relatives/{relative_id:\d+}/remove",
    body=Empty,
    response=RelativeOut,
    summary="Remove a relative (kept as history; their consents are withdrawn)",
)
async def remove_relative(request: web.Request, body: Empty) -> RelativeOut:
    """The relative is no longer on file; what they were allowed is withdrawn."""
    async with request.app[sessionmaker_key].begin() as session:
        relative = await _relative(session, request)
        author, citizen = await _writable(request, session, relative.citizen_id)
        await relatives.remove(session, author, citizen, relative, utcnow())
        return relative_out(relative)


@api.post(
    r"/api/relatives/{relative_id:\d+}/permissions",
    body=PermissionsIn,
    response=RelativeOut,
    summary="Grant or withdraw what a relative may do (each a consent)",
)
async def set_relative_permissions(request: web.Request, body: PermissionsIn) -> RelativeOut:
    """Each change records or withdraws the relative consent behind the permission."""
    async with request.app[sessionmaker_key].begin() as session:
        relative = await _relative(session, request)
        author, citizen = await _writable(request, session, relative.citizen_id)
        asked: dict[str, bool] = {str(k): v for k, v in body.permissions.items()}
        change = relatives.PermissionChange(asked, _giver(body.given_by), body.note)
        await relatives.set_permissions(session, author, citizen, relative, change, utcnow())
        return relative_out(relative)
