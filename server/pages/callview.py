"""The call view: video, controls, guidance for the visit type, the citizen's context, outcome."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.authz import require_citizen
from ..citizens import agreements
from ..citizens.overview import contacts
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import utcnow
from ..query import query_int
from ..templating import render
from ..translatable import N_
from ..visits import guides
from ..visits.daylist import DayScope, day_list, one_visit
from ..visits.inbox_list import InboxEntry, entry_for
from ..vocabulary import ObservationCode, OutcomeKind

routes = web.RouteTableDef()

OBSERVATION_CODES = [c.value for c in ObservationCode if c is not ObservationCode.OTHER]


@routes.get(r"/call/{citizen_id:\d+}", name="call")
async def call_view(request: web.Request) -> web.Response:
    """Ring the citizen at once and show everything needed during and after the call."""
    citizen_id = int(request.match_info["citizen_id"])
    visit_id = query_int(request, "visit")
    item_id = query_int(request, "inbox")
    zone, now = request.app[settings_key].zone, utcnow()
    today = local_day(now, zone)
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        visit = None
        if visit_id is not None:
            visit = await one_visit(session, visit_id, citizen_id=citizen_id, now=now)
            if visit is None:
                raise NotFound(N_("Besøget findes ikke for denne borger."))
        scope = DayScope(citizen_id=citizen_id, include_cancelled=True, details=False)
        context: dict[str, object] = {
            "citizen": citizen,
            "visit": visit,
            "contacts": [c.display_name for c in await contacts(session, citizen_id)],
            "today": await day_list(session, scope, today, tz=zone, now=now),
            "agreement": await agreements.latest(session, citizen_id, today),
            "inbox_item": await _inbox_item(session, identity, item_id, citizen_id, now),
            "guide": await guides.script_for(
                session, identity.organisation_id, visit.visit_type if visit else None
            ),
        }
    context |= {
        "tz": zone,
        "identity": identity,
        "outcome_kinds": [k.value for k in OutcomeKind],
        "observation_codes": OBSERVATION_CODES,
        "now": now.astimezone(zone),
        "request_document": request.query.get("document") == "1",
    }
    return render(request, "call.html", context)


async def _inbox_item(
    session: AsyncSession,
    identity: StaffIdentity,
    item_id: int | None,
    citizen_id: int,
    now: dt.datetime,
) -> InboxEntry | None:
    """The inbox item the call answers (a "Ring til mig"), when it is this citizen's."""
    if item_id is None:
        return None
    entry = await entry_for(session, identity, item_id, now)
    if entry.citizen_id != citizen_id:
        raise NotFound(N_("Opgaven findes ikke for denne borger."))
    return entry
