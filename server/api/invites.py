"""Meeting invites over JSON: create (the link and PIN are shown once), list, revoke.

The meeting's host creates them: a nurse or a visitator who may see the citizen, for a visit
of a meeting type. Every creation, refusal and revocation is audited. Codes: `not_a_meeting`,
`meeting_over`, `not_host`, `unknown_relative`, `consent_missing`, `name_required`,
`invalid_email`, `already_revoked`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen, require_visit
from ..errors import AppError, NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..meetings import invites, mail
from ..models import MeetingInvite, Visit, utcnow
from ..models.meetings import InviteeKind
from ..scheduling.notifier import Notice
from ..signaling import guests, hub_key
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="invites")

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]


class InviteIn(WireModel):
    """Whom to invite: a relative on file (by id) or a guest by name; optionally a PIN."""

    kind: Literal["relative", "guest"]
    relative_id: int | None = Field(None, description="Required for kind relative.")
    name: Name | None = Field(None, description="Required for a guest; a relative's is on file.")
    email: Email | None = Field(None, description="Where to send the link (a relative's default).")
    pin: bool = Field(False, description="Make a six-digit PIN, shown once, given out of band.")


class InviteOut(WireModel):
    """An invite as the host sees it (never its token or PIN)."""

    id: int
    visit_id: int
    kind: str
    relative_id: int | None
    name: str
    email: str | None
    has_pin: bool
    state: str = Field(description="open, not_yet, expired, revoked, locked")
    valid_from: dt.datetime
    valid_until: dt.datetime
    first_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class InviteCreated(WireModel):
    """The new invite, with its link and PIN: shown this once, only hashes are stored."""

    invite: InviteOut
    url: str
    pin: str | None
    emailed: bool = Field(description="False: no SMTP host (or no address); pass the link on.")


class InviteList(WireModel):
    """A meeting's invites, oldest first."""

    visit_id: int
    invites: list[InviteOut]


def invite_out(invite: MeetingInvite, now: dt.datetime) -> InviteOut:
    """The wire shape of an invite."""
    return InviteOut(
        id=invite.id,
        visit_id=invite.visit_id,
        kind=invite.kind.value,
        relative_id=invite.relative_id,
        name=invite.name,
        email=invite.email,
        has_pin=invite.pin_hash is not None,
        state=invites.state_of(invite, now).value,
        valid_from=invite.valid_from,
        valid_until=invite.valid_until,
        first_used_at=invite.first_used_at,
        revoked_at=invite.revoked_at,
    )


@api.post(
    r"/api/visits/{visit_id:\d+}/invites",
    body=InviteIn,
    response=InviteCreated,
    status=201,
    summary="Invite a relative or a guest to a meeting (link and PIN shown once)",
)
async def create_invite(request: web.Request, body: InviteIn) -> InviteCreated:
    """Make the invite, e-mail the link when an SMTP host is set, and return it once."""
    visit_id = int(request.match_info["visit_id"])
    settings = request.app[settings_key]
    wanted = invites.InviteRequest(
        InviteeKind(body.kind), body.relative_id, body.name, body.email, body.pin
    )
    now = utcnow()
    refused: AppError | None = None
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, visit = await require_visit(request, session, visit_id)
        try:
            created = await invites.create(session, identity, visit, wanted, now)
        except AppError as exc:
            refused = exc
        else:
            out, when = _created(request, session, identity, created, visit)
    if refused is not None:  # audited after the request's transaction let go of the database
        await audit.record_apart(
            request.app[sessionmaker_key],
            "invite.create_refused",
            actor=identity,
            subject=("visit", visit_id),
            detail={"reason": refused.code},
            request=request,
        )
        raise refused
    url = f"{settings.public_url.rstrip('/')}/join/{created.token}"
    subject, text = mail.invite_text(out.name, url, when)
    emailed = await mail.send_invite(settings, Notice(out.id, out.name, out.email, subject, text))
    if emailed:
        async with request.app[sessionmaker_key].begin() as session:
            audit.record(
                session, "invite.email", actor=identity, subject=("invite", out.id), request=request
            )
    return InviteCreated(invite=out, url=url, pin=created.pin, emailed=emailed)


def _created(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    created: invites.Created,
    visit: Visit,
) -> tuple[InviteOut, str]:
    """Audit a new invite; its wire shape and the meeting's local time for the e-mail."""
    invite = created.invite
    detail = {"kind": invite.kind.value, "relative": invite.relative_id, "visit": visit.id}
    audit.record(
        session,
        "invite.create",
        actor=identity,
        subject=("invite", invite.id),
        detail=detail | {"pin": created.pin is not None},
        request=request,
    )
    zone = request.app[settings_key].zone
    when = visit.planned_at.astimezone(zone).strftime("%d.%m.%Y kl. %H:%M")
    return invite_out(invite, invite.created_at), when


@api.get(
    r"/api/visits/{visit_id:\d+}/invites",
    response=InviteList,
    summary="A meeting's invites",
)
async def list_invites(request: web.Request) -> InviteList:
    """Every invite of the meeting, with whether each works now."""
    visit_id = int(request.match_info["visit_id"])
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        await require_visit(request, session, visit_id)
        rows = await invites.for_visit(session, visit_id)
        return InviteList(visit_id=visit_id, invites=[invite_out(i, now) for i in rows])


@api.delete(
    r"/api/invites/{invite_id:\d+}",
    response=InviteOut,
    summary="Revoke an invite (it stops working at once)",
)
async def revoke_invite(request: web.Request) -> InviteOut:
    """The host revokes an invite; its link then gets a clear "withdrawn" page."""
    invite_id = int(request.match_info["invite_id"])
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        invite = await session.get(MeetingInvite, invite_id, with_for_update=True)
        if invite is None:
            raise NotFound(N_("Invitationen findes ikke."))
        identity, _ = await require_citizen(request, session, invite.citizen_id)
        invites.check_host(identity)
        invites.revoke(invite, now)
        audit.record(
            session,
            "invite.revoke",
            actor=identity,
            subject=("invite", invite.id),
            detail={"visit": invite.visit_id},
            request=request,
        )
        out = invite_out(invite, now)
    await guests.withdraw(request.app[hub_key], invite.id, invite.visit_id)
    return out
