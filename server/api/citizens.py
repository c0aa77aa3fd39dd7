"""Citizen records over JSON, scoped by the caller's role and teams."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from ..auth.authz import require_citizen, require_staff
from ..auth.scope import citizen_scope
from ..citizens.overview import contacts
from ..keys import sessionmaker_key
from ..models import Citizen
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="citizens")


class CitizenSummary(WireModel):
    """A row in a citizen list."""

    id: int
    name: str
    preferred_name: str | None
    team_id: int
    photo_url: str | None


class CitizenList(WireModel):
    """The citizens the caller may see."""

    citizens: list[CitizenSummary]


class ContactPersonOut(WireModel):
    """A contact person as shown on the citizen record."""

    staff_id: int
    display_name: str
    priority: int


class CitizenDetail(CitizenSummary):
    """One citizen record (reading it is audited)."""

    language: str
    special_approach: str | None
    wishes: str | None
    contact_persons: list[ContactPersonOut]


def summary_of(citizen: Citizen) -> CitizenSummary:
    """The list view of a citizen."""
    return CitizenSummary(
        id=citizen.id,
        name=citizen.name,
        preferred_name=citizen.preferred_name,
        team_id=citizen.team_id,
        photo_url=citizen.photo_url,
    )


@api.get("/api/citizens", response=CitizenList, summary="Citizens visible to the caller")
async def list_citizens(request: web.Request) -> CitizenList:
    """List the citizens in the caller's scope, by name."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        rows = await session.scalars(
            select(Citizen).where(citizen_scope(identity)).order_by(Citizen.name)
        )
        return CitizenList(citizens=[summary_of(c) for c in rows])


@api.get(r"/api/citizens/{citizen_id:\d+}", response=CitizenDetail, summary="One citizen")
async def get_citizen(request: web.Request) -> CitizenDetail:
    """One citizen's record; the read is written to the audit log."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        _, citizen = await require_citizen(request, session, citizen_id)
        people = await contacts(session, citizen_id)
        return CitizenDetail(
            **summary_of(citizen).model_dump(),
            language=citizen.language,
            special_approach=citizen.special_approach,
            wishes=citizen.wishes,
            contact_persons=[
                ContactPersonOut(
                    staff_id=p.staff_id, display_name=p.display_name, priority=p.priority
                )
                for p in people
            ],
        )
