"""Enrolment and readiness over JSON: the tablet's pairing, staff approval, revocation.

Tablet side (bearer = the tablet's random pairing secret): ``POST /api/kiosk/pairing`` shows a
code, ``GET /api/kiosk/pairing`` polls for the device token. Staff side (session + CSRF):
``POST /api/citizens/{id}/enrol`` with the code, ``POST /api/citizens/{id}/kiosk/revoke``,
``GET /api/citizens/readiness`` for the call list.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from aiohttp import web
from sqlalchemy import select

from .. import audit, orgsettings
from ..auth.authz import require_citizen, require_staff
from ..auth.devices import bearer_token, kiosk_tokens_key
from ..auth.scope import citizen_scope
from ..citizens import enrolment
from ..keys import book_key, enrolment_limiter_key, sessionmaker_key, settings_key
from ..models import Citizen, utcnow
from ..signaling import hub_key
from ..visits import readiness as tablet
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="enrolment")


class PairingIn(WireModel):
    """No fields: the bearer pairing secret identifies the tablet."""


class PairingOut(WireModel):
    """The code the tablet shows, and when it stops working."""

    code: str
    expires_at: dt.datetime
    expires_in_s: int


class PairingStatus(WireModel):
    """The tablet's poll: ``token`` is present exactly once, with status "enrolled"."""

    status: Literal["waiting", "enrolled", "claimed", "expired"]
    token: str | None = None
    citizen_name: str | None = None


class EnrolIn(WireModel):
    """The code shown on the tablet, as typed (spaces and dashes are fine)."""

    code: str


class EnrolOut(WireModel):
    """The approved pairing; the tablet picks up its token within seconds."""

    citizen_id: int
    approved: bool


class RevokeIn(WireModel):
    """No fields."""


class RevokeOut(WireModel):
    """How many tablets were revoked."""

    revoked: int


class SelfTestSummary(WireModel):
    """The latest self-test of a tablet."""

    at: dt.datetime
    ok: bool
    failed_part: str | None
    rtt_ms: float | None
    loss_pct: float | None


class Readiness(WireModel):
    """Whether a citizen's tablet is ready for a screen visit."""

    citizen_id: int
    enrolled: bool
    kiosk_label: str | None
    online: bool
    last_seen_at: dt.datetime | None
    selftest: SelfTestSummary | None
    ready: bool
    problem: str | None


class ReadinessList(WireModel):
    """Readiness for every citizen the caller may see."""

    citizens: list[Readiness]


@api.post(
    "/api/kiosk/pairing",
    body=PairingIn,
    response=PairingOut,
    summary="A new tablet asks for a pairing code",
    status=201,
    public=True,
)
async def start_pairing(request: web.Request, body: PairingIn) -> PairingOut:
    """Show this code on the tablet; a staff member enters it on the citizen's page."""
    secret = bearer_token(request)
    settings = request.app[settings_key]
    now = utcnow()
    async with request.app[sessionmaker_key].begin() as session:
        code, expires = await enrolment.start_pairing(
            session, settings.secret_key, secret, request.remote, now
        )
    return PairingOut(
        code=code, expires_at=expires, expires_in_s=int((expires - now).total_seconds())
    )


@api.get(
    "/api/kiosk/pairing",
    response=PairingStatus,
    summary="The tablet polls its pairing (the token comes once)",
    public=True,
)
async def poll_pairing(request: web.Request) -> PairingStatus:
    """Waiting, or the new device token exactly once."""
    secret = bearer_token(request)
    async with request.app[sessionmaker_key].begin() as session:
        claim = await enrolment.claim(session, secret, utcnow())
        revoked_for = None
        if claim.status == "enrolled":
            event = audit.record(
                session,
                "kiosk.enrolled",
                actor=f"kiosk:{claim.kiosk_id}",
                subject=("citizen", claim.citizen_id),
                request=request,
            )
            citizen = await session.get(Citizen, claim.citizen_id)
            event.organisation_id = citizen.organisation_id if citizen else None
            revoked_for = claim.citizen_id
    if revoked_for is not None:
        request.app[kiosk_tokens_key].forget_citizen(revoked_for)
        await request.app[hub_key].close_kiosk(revoked_for, keep_kiosk_id=claim.kiosk_id)
    return PairingStatus(status=claim.status, token=claim.token, citizen_name=claim.citizen_name)


@api.post(
    r"/api/citizens/{citizen_id:\d+}/enrol",
    body=EnrolIn,
    response=EnrolOut,
    summary="Enrol the tablet showing this code for the citizen",
)
async def enrol(request: web.Request, body: EnrolIn) -> EnrolOut:
    """Approve the waiting tablet; wrong codes are limited per staff member."""
    citizen_id = int(request.match_info["citizen_id"])
    limiter = request.app[enrolment_limiter_key]
    settings = request.app[settings_key]
    identity = require_staff(request)
    attempt = await limiter.take(identity.staff_id)  # counted first: parallel guesses too
    try:
        async with request.app[sessionmaker_key].begin() as session:
            _, citizen = await require_citizen(request, session, citizen_id)
            await orgsettings.require_tablet_role(session, identity)
            await enrolment.approve(
                session, settings.secret_key, citizen, identity.staff_id, body.code, utcnow()
            )
            audit.record(
                session,
                "kiosk.enrol_approved",
                actor=identity,
                subject=("citizen", citizen_id),
                request=request,
            )
    except enrolment.PairingCodeInvalid:
        await audit.record_apart(
            request.app[sessionmaker_key],
            "kiosk.enrol_refused",
            actor=identity,
            subject=("citizen", citizen_id),
            detail={"reason": "wrong_code"},
            request=request,
        )
        raise
    except BaseException:  # refused for another reason: not a guess
        await limiter.forgive(identity.staff_id, attempt)
        raise
    await limiter.forgive(identity.staff_id, attempt)
    return EnrolOut(citizen_id=citizen_id, approved=True)


@api.post(
    r"/api/citizens/{citizen_id:\d+}/kiosk/revoke",
    body=RevokeIn,
    response=RevokeOut,
    summary="Revoke the citizen's tablet",
)
async def revoke(request: web.Request, body: RevokeIn) -> RevokeOut:
    """The tablet's token stops working at once; an open socket is closed with 1008."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, _ = await require_citizen(request, session, citizen_id)
        await orgsettings.require_tablet_role(session, identity)
        ids = await enrolment.revoke_citizen_kiosks(session, citizen_id, utcnow())
        audit.record(
            session,
            "kiosk.revoked",
            actor=identity,
            subject=("citizen", citizen_id),
            detail={"kiosk_ids": ids},
            request=request,
        )
    request.app[kiosk_tokens_key].forget_citizen(citizen_id)
    await request.app[hub_key].close_kiosk(citizen_id)
    return RevokeOut(revoked=len(ids))


@api.get(
    "/api/citizens/readiness",
    response=ReadinessList,
    summary="Tablet readiness of the caller's citizens",
)
async def readiness(request: web.Request) -> ReadinessList:
    """Enrolled, online, and the latest self-test passed within a day."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        citizen_ids = list(
            await session.scalars(
                select(Citizen.id).where(citizen_scope(identity)).order_by(Citizen.id)
            )
        )
        tablets = await tablet.citizens_tablets(session, citizen_ids)
        await audit.record_read(
            session, "citizen.readiness", actor=identity, citizen_ids=citizen_ids, request=request
        )
    online = await request.app[book_key].online_citizens(str(c) for c in citizen_ids)
    now = utcnow()
    return ReadinessList(
        citizens=[_readiness(c, tablets.get(c), str(c) in online, now) for c in citizen_ids]
    )


def _readiness(
    citizen_id: int, found: tablet.Tablet | None, online: bool, now: dt.datetime
) -> Readiness:
    test = found.selftest if found is not None else None
    problem = tablet.problem(found, online, now)
    return Readiness(
        citizen_id=citizen_id,
        enrolled=found is not None,
        kiosk_label=found.label if found is not None else None,
        online=online,
        last_seen_at=found.last_seen_at if found is not None else None,
        selftest=SelfTestSummary.model_validate(test, from_attributes=True) if test else None,
        ready=problem is None,
        problem=problem,
    )
