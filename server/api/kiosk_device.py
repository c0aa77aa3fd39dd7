"""The tablet's own JSON API, authenticated by its device token as ``Authorization: Bearer``.

The idle screen's facts (citizen, next visit, settings), the "Ring til mig" call-back request
and self-test results. Bearer requests carry no ambient credentials, so CSRF does not apply.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from aiohttp import web
from pydantic import ConfigDict, Field
from sqlalchemy import select

from ..auth.devices import require_device
from ..citizens.kiosk_home import next_visit, todays_agreements
from ..errors import Forbidden
from ..keys import sessionmaker_key, settings_key, team_feed_key
from ..meetings import dialogue
from ..models import Citizen, KioskDevice, KioskSelfTest, Team, utcnow
from ..notices import store as notice_store
from ..orgsettings import stored_settings
from ..visits import inbox
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="kiosk")


class NextVisit(WireModel):
    """The next screen visit as the citizen sees it."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

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


class TodayAgreements(WireModel):
    """Today's agreement sheet as the citizen reads it: what you do, what we do, whom to call."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    meeting_date: dt.date
    is_today: bool
    participants: list[str]
    topics: str | None
    citizen_does: str | None
    municipality_does: str | None
    phone: str | None
    version: int = 1
    follow_up_date: dt.date | None = None
    follow_up: str | None = None
    follow_up_en: str | None = None


class KioskNotice(WireModel):
    """A reminder or change notice for the idle screen (the tablet reports when it showed it)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    notice_id: int
    visit_id: int
    kind: str
    text_da: str
    text_en: str
    staff_name: str | None
    staff_photo_url: str | None
    created_at: dt.datetime
    shown_at: dt.datetime | None


class QuestionChoice(WireModel):
    """A person the citizen may want at the meeting ("relative:<id>", words to show)."""

    code: str
    label: str


class MeetingQuestions(WireModel):
    """A meeting within a day whose two questions are not answered or skipped yet."""

    visit_id: int
    planned_at: dt.datetime
    people: list[QuestionChoice]


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
    timezone: str  # the organisation's zone: the idle screen's clock shows its wall time
    notices: list[KioskNotice] = []  # newest first, at most two
    poll_s: float = 30.0  # how often the idle screen fetches these facts again
    questions: MeetingQuestions | None = None  # "Hvad vil du gerne tale om?" before a meeting


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
        stored = await stored_settings(session, owner.organisation_id)
        team_phone = await session.scalar(select(Team.phone).where(Team.id == citizen.team_id))
        now, zone = utcnow(), settings.zone
        coming = await next_visit(session, citizen.id, now, zone)
        sheet = await todays_agreements(session, citizen.id, now, zone)
        notices = await notice_store.for_tablet(session, citizen.id, now)
        asked = await dialogue.due_questions(session, citizen.id, now)
        return KioskHome(
            kiosk_id=owner.kiosk_id,
            citizen_id=citizen.id,
            citizen_name=owner.citizen_name,
            language=citizen.language,
            volume_cap=device.volume_cap,
            call_back_enabled=bool(stored.get("call_back_button", False)),
            team_phone=team_phone,
            next_visit=NextVisit.model_validate(coming) if coming else None,
            agreements=TodayAgreements.model_validate(sheet) if sheet else None,
            selftest_lead_min=settings.selftest_lead_min,
            server_time=now,
            timezone=zone.key,
            notices=[KioskNotice.model_validate(n) for n in notices],
            poll_s=settings.kiosk_poll_s,
            questions=_questions(asked),
        )


def _questions(asked: dialogue.Questions | None) -> MeetingQuestions | None:
    if asked is None:
        return None
    people = [QuestionChoice(code=p.code, label=p.label) for p in asked.people]
    return MeetingQuestions(visit_id=asked.visit_id, planned_at=asked.planned_at, people=people)


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
        if not (await stored_settings(session, owner.organisation_id)).get("call_back_button"):
            raise Forbidden("Call-back requests are not enabled.")
        alert, repeated = await inbox.request_call_back(session, citizen, utcnow())
    if not repeated:
        await request.app[team_feed_key].alert_raised(alert)
    return CallBackOut(alert_id=alert.alert_id, repeated=repeated)


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
