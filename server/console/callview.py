"""The call view: video, controls, guidance for the visit type, the citizen's context, outcome."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from .. import agreements
from ..auth.authz import require_citizen
from ..errors import InvalidInput, NotFound
from ..keys import sessionmaker_key, settings_key
from ..models import ContactPerson, Staff, Visit, VisitType, utcnow
from ..models.enums import ObservationCode, OutcomeKind
from ..templating import render
from .daylist import day_bounds

routes = web.RouteTableDef()

# Six themes of the dignity wheel (Værdighedshjulet), used as conversation prompts.
DIGNITY_THEMES = ("home", "choices", "community", "safety", "activities", "health_meals")


def _visit_id(request: web.Request) -> int | None:
    raw = request.query.get("visit")
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput("visit must be a number.")
    return int(raw)


@routes.get(r"/call/{citizen_id:\d+}", name="call")
async def call_view(request: web.Request) -> web.Response:
    """Ring the citizen at once and show everything needed during and after the call."""
    citizen_id = int(request.match_info["citizen_id"])
    visit_id = _visit_id(request)
    tz = ZoneInfo(request.app[settings_key].timezone)
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        visit, vtype = None, None
        if visit_id is not None:
            row = (
                await session.execute(
                    select(Visit, VisitType)
                    .join(VisitType, VisitType.id == Visit.visit_type_id)
                    .where(Visit.id == visit_id, Visit.citizen_id == citizen_id)
                )
            ).first()
            if row is None:
                raise NotFound("No such visit for this citizen.")
            visit, vtype = row
        contacts = (
            await session.scalars(
                select(Staff.display_name)
                .join(ContactPerson, ContactPerson.staff_id == Staff.id)
                .where(ContactPerson.citizen_id == citizen_id)
                .order_by(ContactPerson.priority)
            )
        ).all()
        start, end = day_bounds(utcnow().astimezone(tz).date(), tz)
        today = (
            await session.execute(
                select(Visit, VisitType)
                .join(VisitType, VisitType.id == Visit.visit_type_id)
                .where(
                    Visit.citizen_id == citizen_id,
                    Visit.planned_at >= start,
                    Visit.planned_at < end,
                )
                .order_by(Visit.planned_at)
            )
        ).all()
        sheet = await agreements.latest(session, citizen_id, utcnow().astimezone(tz).date())
    context = {
        "citizen": citizen,
        "visit": visit,
        "vtype": vtype,
        "contacts": contacts,
        "today": today,
        "agreement": sheet,
        "tz": tz,
        "identity": identity,
        "dignity_themes": DIGNITY_THEMES,
        "outcome_kinds": [k.value for k in OutcomeKind],
        "observation_codes": [
            c.value for c in ObservationCode if c not in (ObservationCode.OTHER,)
        ],
        "now": dt.datetime.now(tz),
        "request_document": request.query.get("document") == "1",
    }
    return render(request, "call.html", context)
