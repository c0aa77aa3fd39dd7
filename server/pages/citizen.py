"""The citizen page: the record a nurse or visitator opens from the call list."""

from __future__ import annotations

from aiohttp import web

from .. import orgsettings
from ..auth.authz import require_citizen
from ..citizens import agreements, relative_links, relatives
from ..citizens.overview import overview
from ..i18n import reader_gettext
from ..keys import sessionmaker_key, settings_key
from ..localtime import end_of_today, local_day
from ..meetings import dialogue
from ..models import utcnow
from ..models.notices import SmsRecipient
from ..notices import store as notices
from ..rooms.ringable import ring_state
from ..sms import mask
from ..templating import render
from ..visits.continuity import FEW_NEW_FACES_ROLES
from ..vocabulary import Role

SMS_ROLES = (Role.VISITATOR, Role.PLANNER, Role.ADMIN)  # as POST /api/citizens/{id}/sms-number
NOTICES_SHOWN = 10  # "Besked til borgeren": the newest; the API has up to 100

routes = web.RouteTableDef()


@routes.get(r"/citizens/{citizen_id:\d+}", name="citizen")
async def citizen_view(request: web.Request) -> web.Response:
    """Plans, people, consents, relatives, tablet, call history and observations."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        data = await overview(
            session,
            citizen,
            identity.language,
            end_of_today(utcnow(), request.app[settings_key].zone),
        )
        sheet_rows = await agreements.sheets_for(session, citizen_id)
        sheets = {
            "sheets": sheet_rows,
            "histories": await agreements.histories(session, sheet_rows),
            "may_write_sheet": agreements.may_write(identity, citizen),
            "team_phone": await agreements.team_phone(session, citizen),
            "relative_links": await relative_links.links_of(session, citizen_id, utcnow()),
        }
        register = {"reg": await relatives.register_view(session, identity, citizen)}
        people = {
            "ring": await ring_state(session, identity, citizen_id),
            "few_new_faces": citizen.few_new_faces,
            "may_set_few_new_faces": identity.role in FEW_NEW_FACES_ROLES,
        }
        answers = await dialogue.latest_answers(session, citizen_id, utcnow())
        name = citizen.preferred_name or citizen.name.split()[0]
        wishes = dialogue.summary_of(name, answers, reader_gettext(request)) if answers else None
        sms = await session.get(SmsRecipient, citizen_id)
        told = {
            "notices": await notices.log_of(session, citizen_id, NOTICES_SHOWN),
            "sms_masked": mask(sms.phone) if sms else None,
            "may_set_sms": identity.role in SMS_ROLES,
            "may_manage_tablets": await orgsettings.may_manage_tablets(session, identity),
        }
    zone = request.app[settings_key].zone
    today = local_day(utcnow(), zone)
    context = {"c": data, "tz": zone, "today": today, "meeting_wishes": wishes}
    context |= sheets | people | register | told
    return render(request, "citizen.html", context)
