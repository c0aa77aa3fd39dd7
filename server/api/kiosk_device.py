"""The tablet's own JSON API, authenticated by its device token as ``Authorization: Bearer``.

The idle screen's facts (citizen, next visit, settings), the "Ring til mig" call-back request
and self-test results. Bearer requests carry no ambient credentials, so CSRF does not apply.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Forbidden, NotAuthenticated
from ..keys import hub_key, sessionmaker_key, settings_key
from ..kiosk_home import NextVisit, TodayAgreements, next_visit, todays_agreements
from ..models import (
    Alert,
    AlertKind,
    Citizen,
    KioskDevice,
    KioskSelfTest,
    Organisation,
    Team,
    utcnow,
)
from ..rooms import store
from ..rooms.store import KioskOwner
from ..signaling.messages import AlertMessage
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="kiosk")
CALL_BACK_REPEAT = dt.timedelta(minutes=30)  # one open request per half hour is enough


def bearer_token(request: web.Request) -> str:
    """The bearer token of the request, or NotAuthenticated."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not 16 <= len(token) <= 512:
        raise NotAuthenticated("Send the device token as Authorization: Bearer.")
    return token


async def require_device(request: web.Request, session: AsyncSession) -> KioskOwner:
    """The enrolled, unrevoked tablet behind the request's bearer token."""
    owner = await store.kiosk_for_token(session, bearer_token(request))
    if owner is None:
        raise Forbidden("This tablet is not enrolled, or it was revoked.")
    return owner


class KioskHome(WireModel):
    """Everything the idle screen shows and the settings the tablet obeys."""

    kiosk_id: int
    citizen_id: int
    citizen_name: str
    language: str
    volume_cap: int
    call_back_enabled: bool
    team_phone: str | None
    next_visit: NextVisit | None
    agreements: TodayAgreements | None = None
    selftest_lead_min: int
    server_time: dt.datetime


class CallBackIn(WireModel):
    """No fields: pressing the button is the whole request."""


class CallBackOut(WireModel):
    """The alert in the team's queue; ``repeated`` when one was already open."""

    alert_id: int
    repeated: bool


class SelfTestIn(WireModel):
    """One self-test as the tablet measured it."""

    ok: bool
    failed_part: Annotated[str, Field(max_length=32)] | None = None
    rtt_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    loss_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    details: dict[str, Any] = Field(default_factory=dict, max_length=40)


class SelfTestOut(WireModel):
    """The stored self-test."""

    id: int
    at: dt.datetime


@api.get("/api/kiosk/me", response=KioskHome, summary="The tablet's idle-screen facts", public=True)
async def kiosk_me(request: web.Request) -> KioskHome:
    """Who the tablet belongs to, the next visit and the tablet's settings."""
    settings = request.app[settings_key]
    async with request.app[sessionmaker_key]() as session:
        owner = await require_device(request, session)
        citizen = await session.get_one(Citizen, owner.citizen_id)
        device = await session.get_one(KioskDevice, owner.kiosk_id)
        org = await session.get_one(Organisation, owner.organisation_id)
        team_phone = await session.scalar(select(Team.phone).where(Team.id == citizen.team_id))
        now = utcnow()
        return KioskHome(
            kiosk_id=owner.kiosk_id,
            citizen_id=citizen.id,
            citizen_name=owner.citizen_name,
            language=citizen.language,
            volume_cap=device.volume_cap,
            call_back_enabled=bool(org.settings.get("call_back_button", False)),
            team_phone=team_phone,
            next_visit=await next_visit(session, citizen.id, now, settings.timezone),
            agreements=await todays_agreements(session, citizen.id, now, settings.timezone),
            selftest_lead_min=settings.selftest_lead_min,
            server_time=now,
        )


@api.post(
    "/api/kiosk/call-back",
    body=CallBackIn,
    response=CallBackOut,
    summary="The citizen pressed Ring til mig",
    status=201,
    public=True,
)
async def call_back(request: web.Request, body: CallBackIn) -> CallBackOut:
    """Put a call-back request in the team's queue and alert the team's open consoles."""
    async with request.app[sessionmaker_key].begin() as session:
        owner = await require_device(request, session)
        citizen = await session.get_one(Citizen, owner.citizen_id)
        org = await session.get_one(Organisation, owner.organisation_id)
        if not org.settings.get("call_back_button", False):
            raise Forbidden("Call-back requests are not enabled.")
        now = utcnow()
        open_alert = await session.scalar(
            select(Alert).where(
                Alert.citizen_id == citizen.id,
                Alert.kind == AlertKind.CALL_BACK_REQUEST,
                Alert.acknowledged_at.is_(None),
                Alert.created_at > now - CALL_BACK_REPEAT,
            )
        )
        if open_alert is not None:
            return CallBackOut(alert_id=open_alert.id, repeated=True)
        alert = await raise_alert(
            session,
            citizen,
            AlertKind.CALL_BACK_REQUEST,
            f"{owner.citizen_name} beder om et opkald",
        )
    await push_alert(request, alert)
    return CallBackOut(alert_id=alert.id, repeated=False)


@api.post(
    "/api/kiosk/selftest",
    body=SelfTestIn,
    response=SelfTestOut,
    summary="Store the tablet's self-test result",
    status=201,
    public=True,
)
async def store_selftest(request: web.Request, body: SelfTestIn) -> SelfTestOut:
    """Keep the result for readiness.

    A failure alerts nobody here: the scheduler's readiness check (scheduling/readiness.py)
    alerts the team once per coming visit whose tablet failed its last self-test.
    """
    async with request.app[sessionmaker_key].begin() as session:
        owner = await require_device(request, session)
        row = KioskSelfTest(
            kiosk_id=owner.kiosk_id,
            at=utcnow(),
            ok=body.ok,
            failed_part=None if body.ok else (body.failed_part or "unknown"),
            rtt_ms=body.rtt_ms,
            loss_pct=body.loss_pct,
            details=body.details,
        )
        session.add(row)
        await session.flush()
        return SelfTestOut(id=row.id, at=row.at)


async def raise_alert(session: AsyncSession, citizen: Citizen, kind: AlertKind, text: str) -> Alert:
    """Add an alert for the citizen's team (committed with the caller's transaction)."""
    alert = Alert(
        organisation_id=citizen.organisation_id,
        team_id=citizen.team_id,
        citizen_id=citizen.id,
        kind=kind,
        message=text[:500],
        created_at=utcnow(),
    )
    session.add(alert)
    await session.flush()
    return alert


async def push_alert(request: web.Request, alert: Alert) -> None:
    """Tell the team's open consoles at once (after the commit, so they can load it)."""
    message = AlertMessage(
        alert_id=str(alert.id),
        team_id=str(alert.team_id),
        citizen_id=None if alert.citizen_id is None else str(alert.citizen_id),
        kind=alert.kind.value,
        message=alert.message,
        created_at=alert.created_at,
    )
    await request.app[hub_key].notify_team(alert.team_id, message)
