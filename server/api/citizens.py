"""Citizen records over JSON, scoped by the caller's role and teams."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from .. import audit
from ..auth.authz import require_citizen, require_staff
from ..citizens import search
from ..citizens.overview import contacts
from ..errors import InvalidInput
from ..keys import sessionmaker_key
from ..models import Citizen, utcnow
from ..query import query_int
from ..translatable import N_
from ..visits import continuity
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


class CitizenListItem(CitizenSummary):
    """A citizen found by the search, with team and next open visit."""

    team_name: str
    next_visit_at: dt.datetime | None
    next_visit_type: str | None


class CitizenList(WireModel):
    """The citizens the caller may see (matching ``q`` when given), by name."""

    citizens: list[CitizenListItem]


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


@api.get(
    "/api/citizens",
    response=CitizenList,
    summary="Citizens visible to the caller (?q= name search, ?limit=)",
)
async def list_citizens(request: web.Request) -> CitizenList:
    """Search the citizens in the caller's scope by name or preferred name; empty q lists all."""
    identity = require_staff(request)
    query = request.query.get("q", "")
    if len(query) > search.QUERY_MAX:
        raise InvalidInput(N_("Søgningen må højst være {n} tegn.", n=search.QUERY_MAX))
    limit = query_int(request, "limit", search.DEFAULT_LIMIT)
    if limit is None or not 1 <= limit <= search.MAX_LIMIT:
        raise InvalidInput(N_("limit skal være fra 1 til {n}.", n=search.MAX_LIMIT))
    english = identity.language == "en"
    async with request.app[sessionmaker_key]() as session:
        hits = await search.search(session, identity, query, utcnow(), limit)
        await audit.record_read(
            session,
            "citizen.list",
            actor=identity,
            citizen_ids=[h.id for h in hits],
            detail={"q": query},
            request=request,
        )
    return CitizenList(citizens=[_item(hit, english) for hit in hits])


def _item(hit: search.CitizenHit, english: bool) -> CitizenListItem:
    return CitizenListItem(
        id=hit.id,
        name=hit.name,
        preferred_name=hit.preferred_name,
        team_id=hit.team_id,
        photo_url=hit.photo_url,
        team_name=hit.team_name,
        next_visit_at=hit.next_visit_at,
        next_visit_type=hit.next_visit_type_en if english else hit.next_visit_type,
    )


class FewNewFacesIn(WireModel):
    """Whether the citizen keeps to familiar staff."""

    few_new_faces: bool


class FewNewFacesOut(WireModel):
    """The flag as stored, and whether this request changed it."""

    citizen_id: int
    few_new_faces: bool
    changed: bool


@api.post(
    r"/api/citizens/{citizen_id:\d+}/few-new-faces",
    body=FewNewFacesIn,
    response=FewNewFacesOut,
    summary="Mark a citizen who does not tolerate new faces (nurse, planner, visitator)",
)
async def set_few_new_faces(request: web.Request, body: FewNewFacesIn) -> FewNewFacesOut:
    """Automatic assignment then keeps to familiar staff; a new face needs confirming."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        changed = await continuity.set_few_new_faces(session, identity, citizen, body.few_new_faces)
    return FewNewFacesOut(citizen_id=citizen_id, few_new_faces=body.few_new_faces, changed=changed)


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
