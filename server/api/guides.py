"""Guided scripts over JSON: every staff member reads them; administrators change and reset them."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_staff
from ..identity import StaffIdentity
from ..keys import sessionmaker_key
from ..visits import guides
from ..visits.guides import Script
from ..vocabulary import Role
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="guides")

GUIDE = "/api/guides/{code}"


class GuideOut(WireModel):
    """A visit type of the organisation and the script the call view shows for it."""

    code: str
    name_da: str
    name_en: str
    customised: bool
    script: Script


class GuideList(WireModel):
    """Every visit type of the organisation with its script."""

    guides: list[GuideOut]


def _out(guide: guides.Guide) -> GuideOut:
    return GuideOut(
        code=guide.code,
        name_da=guide.name_da,
        name_en=guide.name_en,
        customised=guide.customised,
        script=guide.script,
    )


def _audit(
    request: web.Request,
    session: AsyncSession,
    who: StaffIdentity,
    action: str,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        action,
        actor=who,
        subject=("visit_type", str(detail["visit_type"])),
        detail=detail,
        request=request,
    )


@api.get("/api/guides", response=GuideList, summary="Guided scripts of every visit type")
async def list_guides(request: web.Request) -> GuideList:
    """The script of each visit type of the caller's organisation, and whether it is its own."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        rows = await guides.guides(session, identity.organisation_id)
    return GuideList(guides=[_out(g) for g in rows])


@api.get(GUIDE, response=GuideOut, summary="The guided script of one visit type")
async def get_guide(request: web.Request) -> GuideOut:
    """One visit type's script (``unknown_visit_type`` when the organisation has no such type)."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        guide = await guides.guide(session, identity.organisation_id, request.match_info["code"])
    return _out(guide)


@api.put(
    GUIDE,
    body=Script,
    response=GuideOut,
    summary="Replace a visit type's guided script",
    roles=(Role.ADMIN,),
)
async def put_guide(request: web.Request, body: Script) -> GuideOut:
    """Store the organisation's own script for a visit type (administrators; audited)."""
    identity = require_staff(request, Role.ADMIN)
    code = request.match_info["code"]
    async with request.app[sessionmaker_key].begin() as session:
        guide = await guides.save(session, identity.organisation_id, code, body)
        detail: dict[str, object] = {"visit_type": code, "script": body.model_dump(mode="json")}
        _audit(request, session, identity, "guide.update", detail)
    return _out(guide)


@api.delete(GUIDE, response=GuideOut, summary="Reset a visit type's guided script to the default")
async def reset_guide(request: web.Request) -> GuideOut:
    """Forget the organisation's own script; the built-in one applies again (audited)."""
    identity = require_staff(request, Role.ADMIN)
    code = request.match_info["code"]
    async with request.app[sessionmaker_key].begin() as session:
        guide = await guides.reset(session, identity.organisation_id, code)
        _audit(request, session, identity, "guide.reset", {"visit_type": code})
    return _out(guide)
