"""The visit-plan API: create, edit and end plans; one-off changes, pauses and adjustments.

Planners, visitators and administrators change the plans of their own organisation; every
staff member may read the plans of citizens they may see. Each change is validated as the plan
would be after it (errors → 422 `plan_invalid` with every problem; clashes of non-swappable
visits → 409 `non_swappable_overlap`), audited, and regenerates only the plan's future,
untouched visits, all in one transaction: a refused change writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..auth.authz import require_citizen, require_staff
from ..errors import Conflict, InvalidInput, NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..models import (
    Citizen,
    CitizenPause,
    PlanAdjustment,
    PlanChange,
    Team,
    VisitPlan,
    VisitType,
    utcnow,
)
from ..scheduling.errors import PlanInvalid, Severity
from ..scheduling.generation import GenerationResult
from ..scheduling.plan_edits import NonSwappableOverlap, check_and_regenerate, regenerate_citizen
from ..vocabulary import Channel, Role
from .plan_models import (
    AdjustmentCreate,
    ChangeCreate,
    Empty,
    PauseCreate,
    PauseSaved,
    PlanCreate,
    PlanEdit,
    PlanEnd,
    PlanList,
    PlanOut,
    PlanSaved,
    generation_out,
    pause_out,
    plan_out,
    problem_out,
)
from .spec import ApiRoutes

api = ApiRoutes(tag="plans")
PLANNERS = (Role.PLANNER, Role.VISITATOR, Role.ADMIN)
PLAN = r"/api/plans/{plan_id:\d+}"


class PlanRejected(InvalidInput):
    """The plan has errors; `details.problems` lists every one with its stable code."""

    status = 422
    code = "plan_invalid"
    default_message = "The visit plan is not valid."


class OverlapRejected(Conflict):
    """Two non-swappable visits of one citizen could take place at the same time."""

    code = "non_swappable_overlap"
    default_message = "Non-swappable visits of this citizen would overlap."


class ChangeIncomplete(InvalidInput):
    """A one-off change lacks what its kind needs (a move needs a date and time...)."""

    code = "change_incomplete"


@asynccontextmanager
async def _transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One transaction; scheduling errors become API errors (and roll everything back)."""
    try:
        async with request.app[sessionmaker_key].begin() as session:
            yield session
    except PlanInvalid as exc:
        errors = [p for p in exc.problems if p.severity is Severity.ERROR]
        message = "The visit plan is not valid: " + "; ".join(p.message for p in errors) + "."
        problems = [problem_out(p).model_dump(mode="json") for p in exc.problems]
        raise PlanRejected(message, details={"problems": problems}) from None
    except NonSwappableOverlap as exc:
        raise OverlapRejected(
            f"Non-swappable visits would overlap: {exc}.",
            details={"conflicts": [_conflict_json(c) for c in exc.conflicts]},
        ) from None


def _conflict_json(conflict: Any) -> dict[str, Any]:
    return {
        "first": {"plan_id": conflict.first.key.plan_id, "at": conflict.first.start.isoformat()},
        "second": {"plan_id": conflict.second.key.plan_id, "at": conflict.second.start.isoformat()},
    }


async def _citizen(session: AsyncSession, identity: StaffIdentity, citizen_id: int) -> Citizen:
    """A citizen of the caller's organisation."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None or citizen.organisation_id != identity.organisation_id:
        raise NotFound("No such citizen.")
    return citizen


async def _plan(session: AsyncSession, identity: StaffIdentity, plan_id: int) -> VisitPlan:
    """A plan of a citizen of the caller's organisation."""
    plan = await session.get(VisitPlan, plan_id)
    if plan is None:
        raise NotFound("No such visit plan.")
    await _citizen(session, identity, plan.citizen_id)
    return plan


async def _type_id(session: AsyncSession, identity: StaffIdentity, code: str) -> int:
    """The id of the organisation's visit type `code`."""
    found = await session.scalar(
        select(VisitType.id).where(
            VisitType.organisation_id == identity.organisation_id, VisitType.code == code
        )
    )
    if found is None:
        raise InvalidInput(f"Unknown visit type {code!r}.", details={"field": "visit_type"})
    return found


async def _check_team(session: AsyncSession, identity: StaffIdentity, team_id: int) -> None:
    team = await session.get(Team, team_id)
    if team is None or team.organisation_id != identity.organisation_id:
        raise InvalidInput("No such team.", details={"field": "team_id"})


async def _plan_view(session: AsyncSession, plan: VisitPlan) -> PlanOut:
    """A plan with its parts, as stored now."""
    code = await session.scalar(select(VisitType.code).where(VisitType.id == plan.visit_type_id))
    changes = await session.scalars(select(PlanChange).where(PlanChange.plan_id == plan.id))
    adjustments = await session.scalars(
        select(PlanAdjustment).where(PlanAdjustment.plan_id == plan.id).order_by(PlanAdjustment.id)
    )
    pauses = await session.scalars(
        select(CitizenPause)
        .where(CitizenPause.citizen_id == plan.citizen_id)
        .order_by(CitizenPause.start)
    )
    return plan_out(plan, code or "", list(changes), list(adjustments), list(pauses))


async def _save(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    plan: VisitPlan,
    action: str,
    detail: dict[str, Any],
) -> PlanSaved:
    """Check and regenerate the changed plan, audit the change, and answer with the plan."""
    plan.updated_at = utcnow()
    settings = request.app[settings_key]
    saved = await check_and_regenerate(
        session,
        plan_id=plan.id,
        citizen_id=plan.citizen_id,
        organisation_id=identity.organisation_id,
        now=utcnow(),
        zone=settings.zone,
        horizon_days=settings.scheduling_horizon_days,
    )
    audit.record(
        session, action, actor=identity, subject=("visit_plan", plan.id), detail=detail,
        request=request,
    )  # fmt: skip
    return PlanSaved(
        plan=await _plan_view(session, plan),
        warnings=[problem_out(w) for w in saved.warnings],
        generation=generation_out(saved.generation),
    )


@api.get("/api/plans", response=PlanList, summary="A citizen's visit plans (?citizen_id)")
async def list_plans(request: web.Request) -> PlanList:
    """Every plan of a citizen the caller may see (nurses and carers read, planners edit)."""
    raw = request.query.get("citizen_id", "")
    if not raw.isdigit():
        raise InvalidInput("citizen_id must be a number.")
    async with request.app[sessionmaker_key].begin() as session:
        await require_citizen(request, session, int(raw))
        plans = await session.scalars(
            select(VisitPlan).where(VisitPlan.citizen_id == int(raw)).order_by(VisitPlan.id)
        )
        return PlanList(plans=[await _plan_view(session, p) for p in plans])


@api.get(PLAN, response=PlanOut, summary="One visit plan")
async def get_plan(request: web.Request) -> PlanOut:
    """One plan of a citizen the caller may see."""
    async with request.app[sessionmaker_key].begin() as session:
        plan = await session.get(VisitPlan, int(request.match_info["plan_id"]))
        if plan is None:
            raise NotFound("No such visit plan.")
        await require_citizen(request, session, plan.citizen_id)
        return await _plan_view(session, plan)


@api.post("/api/plans", body=PlanCreate, response=PlanSaved, summary="Create a plan", status=201)
async def create_plan(request: web.Request, body: PlanCreate) -> PlanSaved:
    """A new plan for a citizen of the caller's organisation, with its visits generated."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        await _citizen(session, identity, body.citizen_id)
        await _check_team(session, identity, body.team_id)
        plan = VisitPlan(
            citizen_id=body.citizen_id,
            visit_type_id=await _type_id(session, identity, body.visit_type),
            team_id=body.team_id,
            rrule=body.rrule,
            local_time=body.local_time,
            window_min=body.window_min,
            duration_min=body.duration_min,
            default_channel=Channel(body.default_channel),
            channel_by_weekday={str(k): v for k, v in body.channel_by_weekday.items()},
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            rules={},
        )
        session.add(plan)
        await session.flush()
        detail = {"citizen_id": body.citizen_id, "visit_type": body.visit_type}
        return await _save(request, session, identity, plan, "plan.create", detail)


@api.post(PLAN, body=PlanEdit, response=PlanSaved, summary="Edit a plan (fields given change)")
async def edit_plan(request: web.Request, body: PlanEdit) -> PlanSaved:
    """Change a plan; its future untouched visits follow, documented visits never change."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        fields = body.model_fields_set
        if body.visit_type is not None:
            plan.visit_type_id = await _type_id(session, identity, body.visit_type)
        if body.team_id is not None:
            await _check_team(session, identity, body.team_id)
            plan.team_id = body.team_id
        for name in ("rrule", "local_time", "window_min", "duration_min", "valid_from"):
            if getattr(body, name) is not None:
                setattr(plan, name, getattr(body, name))
        if body.default_channel is not None:
            plan.default_channel = Channel(body.default_channel)
        if body.channel_by_weekday is not None:
            plan.channel_by_weekday = {str(k): v for k, v in body.channel_by_weekday.items()}
        if "valid_to" in fields:
            plan.valid_to = body.valid_to
        detail = {"fields": sorted(fields)}
        return await _save(request, session, identity, plan, "plan.edit", detail)


@api.post(f"{PLAN}/end", body=PlanEnd, response=PlanSaved, summary="End a plan after a day")
async def end_plan(request: web.Request, body: PlanEnd) -> PlanSaved:
    """No visits after `last_day`; later untouched visits are cancelled with a reason."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        plan.valid_to = body.last_day
        detail = {"last_day": body.last_day.isoformat(), "reason": body.reason}
        return await _save(request, session, identity, plan, "plan.end", detail)


def _check_change(body: ChangeCreate) -> None:
    """A move needs a date and a time; a switch needs a channel."""
    if body.kind == "move" and (body.move_to_date is None or body.move_to_time is None):
        raise ChangeIncomplete("A move needs move_to_date and move_to_time.")
    if body.kind == "switch" and body.channel is None:
        raise ChangeIncomplete("A channel switch needs a channel.")


@api.post(f"{PLAN}/changes", body=ChangeCreate, response=PlanSaved, summary="One-off change")
async def change_day(request: web.Request, body: ChangeCreate) -> PlanSaved:
    """Move, cancel or switch the channel of one day's visit (replaces that day's change)."""
    identity = require_staff(request, *PLANNERS)
    _check_change(body)
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        change = await session.scalar(
            select(PlanChange).where(
                PlanChange.plan_id == plan.id, PlanChange.local_date == body.date
            )
        )
        if change is None:
            change = PlanChange(plan_id=plan.id, local_date=body.date)
            session.add(change)
        move = body.kind == "move"
        change.kind = body.kind
        change.move_to_date = body.move_to_date if move else None
        change.move_to_time = body.move_to_time if move else None
        change.channel = None if body.channel is None else Channel(body.channel)
        change.reason = body.reason
        change.created_by_staff_id = identity.staff_id
        detail = {"date": body.date.isoformat(), "kind": body.kind}
        return await _save(request, session, identity, plan, "plan.change", detail)


@api.post(
    PLAN + r"/changes/{date:\d{4}-\d{2}-\d{2}}/remove",
    body=Empty,
    response=PlanSaved,
    summary="Undo a one-off change",
)
async def remove_change(request: web.Request, body: Empty) -> PlanSaved:
    """The day follows the plan again."""
    identity = require_staff(request, *PLANNERS)
    try:
        day = dt.date.fromisoformat(request.match_info["date"])
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD.") from None
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        change = await session.scalar(
            select(PlanChange).where(PlanChange.plan_id == plan.id, PlanChange.local_date == day)
        )
        if change is None:
            raise NotFound("No change on that day.")
        await session.delete(change)
        detail = {"date": day.isoformat()}
        return await _save(request, session, identity, plan, "plan.change_removed", detail)


@api.post(
    f"{PLAN}/adjustments", body=AdjustmentCreate, response=PlanSaved, summary="Add extra visits"
)
async def add_adjustment(request: web.Request, body: AdjustmentCreate) -> PlanSaved:
    """Temporary extra visits on top of the plan, without rewriting it."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        adjustment = PlanAdjustment(
            plan_id=plan.id,
            visit_type_id=await _type_id(session, identity, body.visit_type),
            rrule=body.rrule,
            local_time=body.local_time,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            channel=Channel(body.channel),
            window_min=body.window_min,
            duration_min=body.duration_min,
        )
        session.add(adjustment)
        await session.flush()
        detail = {"adjustment_id": adjustment.id, "visit_type": body.visit_type}
        return await _save(request, session, identity, plan, "plan.adjust", detail)


@api.post(
    PLAN + r"/adjustments/{adjustment_id:\d+}/remove",
    body=Empty,
    response=PlanSaved,
    summary="Remove extra visits",
)
async def remove_adjustment(request: web.Request, body: Empty) -> PlanSaved:
    """Stop a temporary adjustment; its future untouched visits are cancelled."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        adjustment = await session.get(PlanAdjustment, int(request.match_info["adjustment_id"]))
        if adjustment is None or adjustment.plan_id != plan.id:
            raise NotFound("No such adjustment.")
        await session.delete(adjustment)
        detail = {"adjustment_id": adjustment.id}
        return await _save(request, session, identity, plan, "plan.adjust_removed", detail)


@api.post("/api/pauses", body=PauseCreate, response=PauseSaved, summary="Pause visits", status=201)
async def add_pause(request: web.Request, body: PauseCreate) -> PauseSaved:
    """No visits on start..end (hospital stay, holiday); planned visits then are cancelled."""
    identity = require_staff(request, *PLANNERS)
    if body.end < body.start:
        raise InvalidInput(f"The pause ends {body.end} before it starts {body.start}.")
    async with _transaction(request) as session:
        await _citizen(session, identity, body.citizen_id)
        pause = CitizenPause(
            citizen_id=body.citizen_id, start=body.start, end=body.end, reason=body.reason
        )
        session.add(pause)
        result = await _regenerate(request, session, body.citizen_id)
        detail = {"start": body.start.isoformat(), "end": body.end.isoformat()}
        audit.record(
            session, "citizen.pause", actor=identity, subject=("citizen", body.citizen_id),
            detail=detail, request=request,
        )  # fmt: skip
        return PauseSaved(pause=pause_out(pause), generation=generation_out(result))


@api.post(r"/api/pauses/{pause_id:\d+}/remove", body=Empty, response=PauseSaved, summary="Unpause")
async def remove_pause(request: web.Request, body: Empty) -> PauseSaved:
    """End a pause early or undo it; the citizen's visits are generated again."""
    identity = require_staff(request, *PLANNERS)
    async with _transaction(request) as session:
        pause = await session.get(CitizenPause, int(request.match_info["pause_id"]))
        if pause is None:
            raise NotFound("No such pause.")
        await _citizen(session, identity, pause.citizen_id)
        await session.delete(pause)
        result = await _regenerate(request, session, pause.citizen_id)
        audit.record(
            session, "citizen.pause_removed", actor=identity,
            subject=("citizen", pause.citizen_id), detail={"pause_id": pause.id}, request=request,
        )  # fmt: skip
        return PauseSaved(pause=pause_out(pause), generation=generation_out(result))


async def _regenerate(
    request: web.Request, session: AsyncSession, citizen_id: int
) -> GenerationResult:
    settings = request.app[settings_key]
    return await regenerate_citizen(
        session, citizen_id, utcnow(), settings.zone, settings.scheduling_horizon_days
    )
