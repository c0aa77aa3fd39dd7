"""The JSON edge: each operation parses its body, calls services and maps the result to wire
models (pydantic). ``API_TABLES`` lists every route table, for the app and the OpenAPI document.
"""

from __future__ import annotations

from . import (
    admin,
    agreements,
    calendar,
    citizens,
    consents,
    console,
    daylist,
    enrolment,
    figures,
    guides,
    imports,
    inbox,
    invites,
    kiosk_device,
    me,
    meeting_dialogue,
    notices,
    outcomes,
    overview,
    pauses,
    plans,
    relative_links,
    selftest,
)
from .spec import ApiRoutes

API_TABLES: tuple[ApiRoutes, ...] = (
    me.api,
    citizens.api,
    console.api,
    inbox.api,
    outcomes.api,
    overview.api,
    admin.api,
    enrolment.api,
    kiosk_device.api,
    selftest.api,
    calendar.api,
    daylist.api,
    imports.api,
    plans.api,
    pauses.api,
    figures.api,
    agreements.api,
    consents.api,
    notices.api,
    notices.kiosk_api,
    guides.api,
    invites.api,
    relative_links.api,
    meeting_dialogue.api,
)
