"""Notices to the citizen at the JSON edge: the nurse's "forsinket ca. 10 min", what the day
list shows of it, the tablet confirming that it showed a notice, and a citizen's SMS number.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from .. import audit
from ..auth.authz import require_staff
from ..auth.devices import require_device
from ..auth.scope import citizen_scope
from ..errors import Conflict, InvalidInput, NotFound
from ..keys import sessionmaker_key, settings_key, team_feed_key
from ..models import Citizen, Visit, utcnow
from ..models.notices import NoticeKind
from ..notices import store
from ..notices.rules import OPEN
from ..sms import mask
from ..translatable import N_
from ..visits.updates import VisitUpdate
from ..vocabulary import Role
from .daylist import ASSIGN_ROLES
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="scheduling")
kiosk_api = ApiRoutes(tag="kiosk")
MAX_VISITS = 500
SMS_ROLES = (Role.VISITATOR, Role.PLANNER, Role.ADMIN)


class VisitNotOpen(Conflict):
    """The visit is under way, over or cancelled: a delay means nothing any more."""

    code = "visit_not_open"
    default_message = N_("Besøget er i gang, overstået eller aflyst.")


class DelayIn(WireModel):
    """How late the visit will be, about."""

    minutes: int = Field(ge=5, le=120)


class DelayOut(WireModel):
    """The notice created; ``channel`` null when the citizen has neither tablet nor SMS."""

    visit_id: int
    notice_id: int | None
    channel: str | None
    text: str


class DelayState(WireModel):
    """A visit's latest "forsinket" notice and when the citizen was told (null: not yet)."""

    visit_id: int
    notice_id: int
    channel: str
    created_at: dt.datetime
    told_at: dt.datetime | None
    told_at_local: str | None  # "10:31" on the organisation's clock


class DelayStates(WireModel):
    """The delay notices of the visits asked about."""

    delays: list[DelayState]


class LoggedNotice(WireModel):
    """One notice as it was given: its words, and when it was shown on the tablet or sent."""

    notice_id: int
    visit_id: int
    kind: str
    channel: str
    text: str
    created_at: dt.datetime
    shown_at: dt.datetime | None
    sent_at: dt.datetime | None
    send_error: str | None


class NoticeLog(WireModel):
    """A citizen's notices, newest first (at most 100)."""

    notices: list[LoggedNotice]


class SmsNumberIn(WireModel):
    """The number the citizen's notices go to when there is no tablet (null: none)."""

    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ]{6,20}$")] | None


class SmsNumberOut(WireModel):
    """The number as staff see it afterwards (all but the last two digits hidden)."""

    citizen_id: int
    phone_masked: str | None


class ShownIn(WireModel):
    """No fields: the tablet showed the notice."""


class ShownOut(WireModel):
    """When the notice was first shown."""

    notice_id: int
    shown_at: dt.datetime | None


@api.post(
    r"/api/visits/{visit_id:\d+}/delay",
    body=DelayIn,
    response=DelayOut,
    summary="Tell the citizen the visit is about N minutes late",
    status=201,
    roles=ASSIGN_ROLES,
)
async def delay_visit(request: web.Request, body: DelayIn) -> DelayOut:
    """Create the "forsinket" notice on the citizen's tablet (or SMS) and audit it."""
    identity = require_staff(request, *ASSIGN_ROLES)
    visit_id = int(request.match_info["visit_id"])
    now, zone = utcnow(), request.app[settings_key].zone
    sms = request.app[settings_key].sms_adapter != "none"
    async with request.app[sessionmaker_key].begin() as session:
        visible = await session.scalar(
            select(Visit.id)
            .join(Citizen, Citizen.id == Visit.citizen_id)
            .where(Visit.id == visit_id, citizen_scope(identity))
        )
        row = await store.load_visit(session, visit_id) if visible else None
        if row is None:
            raise NotFound(N_("Besøget findes ikke."))
        if row.status not in OPEN:
            raise VisitNotOpen()
        new = store.delay_notice(row, body.minutes, now, zone, identity.staff_id)
        channel = (await store.channels(session, [row.citizen_id], sms=sms)).get(row.citizen_id)
        notice_id = await store.create(session, new, channel, now) if channel else None
        audit.record(
            session,
            "visit.delay",
            actor=identity,
            subject=("visit", visit_id),
            detail={"minutes": body.minutes, "notice_id": notice_id},
            request=request,
        )
    text = new.words.en if identity.language == "en" else new.words.da
    return DelayOut(
        visit_id=visit_id,
        notice_id=notice_id,
        channel=channel.value if channel else None,
        text=text,
    )


@api.post(
    r"/api/citizens/{citizen_id:\d+}/sms-number",
    body=SmsNumberIn,
    response=SmsNumberOut,
    summary="Set or clear the number a citizen without a tablet gets notices on by SMS",
    roles=SMS_ROLES,
)
async def set_sms_number(request: web.Request, body: SmsNumberIn) -> SmsNumberOut:
    """Visitators, planners and administrators; audited (the number masked)."""
    identity = require_staff(request, *SMS_ROLES)
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        found = await session.scalar(
            select(Citizen.id).where(Citizen.id == citizen_id, citizen_scope(identity))
        )
        if found is None:
            raise NotFound(N_("Borgeren findes ikke."))
        await store.set_sms_number(session, citizen_id, body.phone)
        masked = mask(body.phone) if body.phone else None
        audit.record(
            session,
            "citizen.sms_number",
            actor=identity,
            subject=("citizen", citizen_id),
            detail={"phone": masked},
            request=request,
        )
    return SmsNumberOut(citizen_id=citizen_id, phone_masked=masked)


@api.get(
    r"/api/citizens/{citizen_id:\d+}/notices",
    response=NoticeLog,
    summary="What the citizen was told (reminders, changes, delays) and when it was shown",
)
async def notice_log(request: web.Request) -> NoticeLog:
    """The log of a citizen's notices, in the reader's language."""
    identity = require_staff(request)
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key]() as session:
        found = await session.scalar(
            select(Citizen.id).where(Citizen.id == citizen_id, citizen_scope(identity))
        )
        if found is None:
            raise NotFound(N_("Borgeren findes ikke."))
        rows = await store.log_of(session, citizen_id)
    english = identity.language == "en"
    return NoticeLog(
        notices=[
            LoggedNotice(
                notice_id=n.id,
                visit_id=n.visit_id,
                kind=n.kind.value,
                channel=n.channel.value,
                text=n.text_en if english else n.text_da,
                created_at=n.created_at,
                shown_at=n.shown_at,
                sent_at=n.sent_at,
                send_error=n.send_error,
            )
            for n in rows
        ]
    )


def _visit_ids(request: web.Request) -> list[int]:
    """``?visit_id=1,2,3`` (at most 500)."""
    raw = request.query.get("visit_id", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(N_("visit_id skal være en liste af id'er adskilt af komma.")) from None
    if len(ids) > MAX_VISITS:
        raise InvalidInput(N_("Højst {n} besøg ad gangen.", n=MAX_VISITS))
    return ids


@api.get(
    "/api/notices/delays",
    response=DelayStates,
    summary="The latest delay notice of each visit (?visit_id=1,2,3) and when it was shown",
)
async def delay_states(request: web.Request) -> DelayStates:
    """For the day list: "Borgeren har fået besked 10:31"."""
    identity = require_staff(request)
    ids = _visit_ids(request)
    zone = request.app[settings_key].zone
    async with request.app[sessionmaker_key]() as session:
        visible = (
            set(
                await session.scalars(
                    select(Visit.id)
                    .join(Citizen, Citizen.id == Visit.citizen_id)
                    .where(Visit.id.in_(ids), citizen_scope(identity))
                )
            )
            if ids
            else set()
        )
        states = await store.delay_states(session, visible)
    return DelayStates(
        delays=[
            DelayState(
                visit_id=s.visit_id,
                notice_id=s.notice_id,
                channel=s.channel.value,
                created_at=s.created_at,
                told_at=s.told_at,
                told_at_local=f"{s.told_at.astimezone(zone):%H:%M}" if s.told_at else None,
            )
            for s in states.values()
        ]
    )


@kiosk_api.post(
    r"/api/kiosk/notices/{notice_id:\d+}/shown",
    body=ShownIn,
    response=ShownOut,
    summary="The tablet showed this notice",
    public=True,
)
async def notice_shown(request: web.Request, body: ShownIn) -> ShownOut:
    """Log when the notice was first on the screen; a delay's nurse sees it in her day list."""
    notice_id = int(request.match_info["notice_id"])
    async with request.app[sessionmaker_key].begin() as session:
        owner = await require_device(request, session)
        marked = await store.mark_shown(session, owner.citizen_id, notice_id, utcnow())
        if marked is None:
            raise NotFound(N_("Beskeden findes ikke."))
        notice, first = marked
        update = None
        if first and notice.kind is NoticeKind.LATE:
            visit = await session.get_one(Visit, notice.visit_id)
            update = VisitUpdate(visit.id, visit.citizen_id, visit.team_id, visit.status)
        result = ShownOut(notice_id=notice.id, shown_at=notice.shown_at)
    if update is not None:
        # The day list re-reads its rows on a visit-updated: "Borgeren har fået besked 10:31".
        await request.app[team_feed_key].visit_changed(update)
    return result
