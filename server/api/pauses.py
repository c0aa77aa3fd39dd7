"""A citizen's pauses (hospital stay, holiday) and contact persons: they concern every plan.

Planners, visitators and administrators of the citizen's organisation set them; each change is
audited with what changed and its reason, and a pause regenerates the citizen's visits in the
same transaction (`plans.plan_transaction`: a refused change writes nothing).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_staff
from ..citizens.contact_persons import set_contact_persons
from ..errors import InvalidInput, NotFound
from ..keys import sessionmaker_key, settings_key
from ..models import CitizenPause, utcnow
from ..scheduling.generation import GenerationResult
from ..scheduling.plan_edits import regenerate_citizen
from ..translatable import N_
from .plan_models import (
    ContactPersonsIn,
    ContactPersonsOut,
    Empty,
    PauseCreate,
    PauseSaved,
    StaffRef,
    generation_out,
    pause_out,
)
from .plans import PLANNERS, org_citizen, plan_transaction
from .spec import ApiRoutes

api = ApiRoutes(tag="plans")


@api.post(
    "/api/pauses",
    body=PauseCreate,
    response=PauseSaved,
    summary="Pause visits",
    status=201,
    roles=PLANNERS,
)
async def add_pause(request: web.Request, body: PauseCreate) -> PauseSaved:
    """No visits on start..end (hospital stay, holiday); planned visits then are cancelled."""
    identity = require_staff(request, *PLANNERS)
    if body.end < body.start:
        raise InvalidInput(
            N_("Pausen slutter {end} før den begynder {start}.", end=body.end, start=body.start)
        )
    async with plan_transaction(request) as session:
        await org_citizen(session, identity, body.citizen_id)
        pause = CitizenPause(
            citizen_id=body.citizen_id, start=body.start, end=body.end, reason=body.reason,
            created_by_staff_id=identity.staff_id,
        )  # fmt: skip
        session.add(pause)
        result = await _regenerate(request, session, body.citizen_id)
        period = {"start": body.start.isoformat(), "end": body.end.isoformat()}
        detail = {
            **period, "pause_id": pause.id, "changes": {"pause": [None, period]},
            "reason": body.reason,
        }  # fmt: skip
        audit.record(
            session, "citizen.pause", actor=identity, subject=("citizen", body.citizen_id),
            detail=detail, request=request,
        )  # fmt: skip
        return PauseSaved(pause=pause_out(pause), generation=generation_out(result))


@api.post(
    r"/api/pauses/{pause_id:\d+}/remove",
    body=Empty,
    response=PauseSaved,
    summary="Unpause",
    roles=PLANNERS,
)
async def remove_pause(request: web.Request, body: Empty) -> PauseSaved:
    """End a pause early or undo it; the citizen's visits are generated again."""
    identity = require_staff(request, *PLANNERS)
    async with plan_transaction(request) as session:
        pause = await session.get(CitizenPause, int(request.match_info["pause_id"]))
        if pause is None:
            raise NotFound(N_("Pausen findes ikke."))
        await org_citizen(session, identity, pause.citizen_id)
        period = {"start": pause.start.isoformat(), "end": pause.end.isoformat()}
        await session.delete(pause)
        result = await _regenerate(request, session, pause.citizen_id)
        detail = {
            "pause_id": pause.id,
            "changes": {"pause": [period, None]},
            "reason": pause.reason,
        }
        audit.record(
            session, "citizen.pause_removed", actor=identity,
            subject=("citizen", pause.citizen_id), detail=detail, request=request,
        )  # fmt: skip
        return PauseSaved(pause=pause_out(pause), generation=generation_out(result))


async def _regenerate(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> GenerationResult:
    settings = request.app[settings_key]
    return await regenerate_citizen(
        session, citizen_id, utcnow(), settings.zone, settings.scheduling_horizon_days
    )


@api.post(
    r"/api/citizens/{citizen_id:\d+}/contact-persons",
    body=ContactPersonsIn,
    response=ContactPersonsOut,
    summary="Set a citizen's 1-3 contact persons",
    roles=PLANNERS,
)
async def put_contact_persons(request: web.Request, body: ContactPersonsIn) -> ContactPersonsOut:
    """Replace the contact persons (most responsible first); audited with old → new."""
    identity = require_staff(request, *PLANNERS)
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        citizen = await org_citizen(session, identity, citizen_id)
        before, after = await set_contact_persons(session, citizen, body.staff_ids)
        names = ([p.display_name for p in before], [p.display_name for p in after])
        audit.record(
            session, "citizen.contact_persons", actor=identity, subject=("citizen", citizen_id),
            detail={"changes": {"contact_persons": list(names)}, "staff_ids": body.staff_ids},
            request=request,
        )  # fmt: skip
    return ContactPersonsOut(
        citizen_id=citizen_id,
        contact_persons=[StaffRef(id=p.staff_id, display_name=p.display_name) for p in after],
    )
