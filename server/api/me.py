"""Who am I: the logged-in staff member's identity and CSRF token for scripts."""

from __future__ import annotations

import dataclasses
from typing import Literal

from aiohttp import web

from ..auth.authz import require_staff
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key
from ..models import Staff
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="session")


class Me(WireModel):
    """The caller."""

    staff_id: int
    username: str
    display_name: str
    role: str
    organisation_id: int
    team_ids: list[int]
    csrf_token: str
    language: str


@api.get("/api/me", response=Me, summary="The logged-in staff member")
async def me(request: web.Request) -> Me:
    """Identity, scope and the CSRF token to send with state-changing requests."""
    return me_of(require_staff(request))


def me_of(identity: StaffIdentity) -> Me:
    """The wire view of an identity."""
    return Me(
        staff_id=identity.staff_id,
        username=identity.username,
        display_name=identity.display_name,
        role=identity.role.value,
        organisation_id=identity.organisation_id,
        team_ids=sorted(identity.team_ids),
        csrf_token=identity.csrf_token,
        language=identity.language,
    )


class LanguageChange(WireModel):
    """The staff member's preferred UI language."""

    language: Literal["da", "en"]


@api.post("/api/me/language", body=LanguageChange, response=Me, summary="Set my UI language")
async def set_language(request: web.Request, body: LanguageChange) -> Me:
    """Store the preferred language (Danish or English) for the staff UI."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key].begin() as session:
        staff = await session.get(Staff, identity.staff_id)
        if staff is None:
            raise NotFound(N_("Medarbejderen findes ikke."))
        staff.language = body.language
    return me_of(dataclasses.replace(identity, language=body.language))
