"""The visit-plan API: create, edit and end plans; one-off changes, pauses and adjustments.

Planners, visitators and administrators change the plans of their own organisation; every
staff member may read the plans of citizens they may see. Each change is validated as the plan
would be after it (errors → 422 `plan_invalid` with every problem; clashes of non-swappable
visits → 409 `non_swappable_overlap`), audited with what changed (`changes: {field: [old,
new]}`) and its reason, and regenerates only the plan's future, untouched visits, all in one
transaction: a refused change writes nothing. `GET /api/plans/{id}/history` reads it back.

Medication safety (`scheduling/medication.py`): a one-off move of a non-swappable dose that
leaves its window or comes too close to another dose, and a retype from or to a
non-swappable type, are refused with 409 and the rule's code. A nurse or a visitator may
override with `override_reason`; the override is audited as `plan.medication_override`.
Nurses may make (and undo) one-off changes to the plans of their own team's citizens, with or
without an override; creating, editing and ending plans, pauses and extra visits stay with
planners, visitators and administrators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit, orgsettings
from ..auth.authz import require_citizen, require_staff
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, OverrideNotAllowed
from ..i18n import reader_gettext, request_language
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
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
from ..scheduling import plan_edits
from ..scheduling.errors import PlanInvalid, Severity
from ..scheduling.medication import Breach, MedicationRule, may_override
from ..scheduling.plan_edits import NonSwappableOverlap, check_and_regenerate
from ..scheduling.plan_history import change_json, diff, plan_history, snapshot
from ..scheduling.plan_words import WordsInvalid, to_rrule
from ..scheduling.recurrence import PlanSpec
from ..scheduling.rrule_text import describe
from ..scheduling.specs import weekday_channels
from ..translatable import N_, Msg, translated
from ..vocabulary import Channel, Role
from .plan_models import (
    AdjustmentCreate,
    ChangeCreate,
    Empty,
    HistoryOut,
    PlanCreate,
    PlanEdit,
    PlanEnd,
    PlanList,
    PlanOut,
    PlanSaved,
    PreviewIn,
    PreviewOut,
    PreviewVisit,
    ScheduleIn,
    generation_out,
    history_out,
    plan_out,
    problem_out,
)
from .spec import ApiRoutes

api = ApiRoutes(tag="plans")
PLANNERS = (Role.PLANNER, Role.VISITATOR, Role.ADMIN)
# One-off changes: also nurses, for their own team's citizens (delegated medication).
CHANGERS = (*PLANNERS, Role.NURSE)
PLAN = r"/api/plans/{plan_id:\d+}"


class PlanRejected(InvalidInput):
    """The plan has errors; `details.problems` lists every one with its stable code."""

    status = 422
    code = "plan_invalid"
    default_message = N_("Besøgsplanen er ikke gyldig.")


class OverlapRejected(Conflict):
    """Two non-swappable visits of one citizen could take place at the same time."""

    code = "non_swappable_overlap"
    default_message = N_("Borgerens faste besøg (fx medicin) ville overlappe.")


class ChangeIncomplete(InvalidInput):
    """A one-off change lacks what its kind needs (a move needs a date and time...)."""

    code = "change_incomplete"


class ScheduleRejected(InvalidInput):
    """The days in words make no rule (no day chosen)."""

    status = 422
    code = "schedule_invalid"


class MedicationOutOfWindow(Conflict):
    """A medication dose would leave its day or its window."""

    code = MedicationRule.OUT_OF_WINDOW.value


class MedicationTooClose(Conflict):
    """A medication dose would come too close to another dose of the plan."""

    code = MedicationRule.TOO_CLOSE.value


class MedicationRetype(Conflict):
    """A plan would change from or to a non-swappable visit type."""

    code = MedicationRule.RETYPE.value


REFUSALS: dict[MedicationRule, type[Conflict]] = {
    MedicationRule.OUT_OF_WINDOW: MedicationOutOfWindow,
    MedicationRule.TOO_CLOSE: MedicationTooClose,
    MedicationRule.RETYPE: MedicationRetype,
}
WHAT_TO_DO = {
    MedicationRule.OUT_OF_WINDOW: N_(
        "Flyt dosis inden for dens tidsrum samme dag, eller bed en sygeplejerske eller en "
        "visitator om at tilsidesætte reglen med en begrundelse."
    ),
    MedicationRule.TOO_CLOSE: N_(
        "Vælg et tidspunkt længere fra den anden dosis, eller bed en sygeplejerske eller en "
        "visitator om at tilsidesætte reglen med en begrundelse."
    ),
    MedicationRule.RETYPE: N_("Afslut denne plan, og opret en ny med den anden besøgstype."),
}


@asynccontextmanager
async def plan_transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One transaction; scheduling errors become API errors (and roll everything back)."""
    try:
        async with request.app[sessionmaker_key].begin() as session:
            yield session
    except PlanInvalid as exc:
        say = reader_gettext(request)
        errors = [p for p in exc.problems if p.severity is Severity.ERROR]
        message = N_(
            "Besøgsplanen er ikke gyldig: {problems}.",
            problems=Msg.joined("; ", [p.message for p in errors]),
        )
        problems = [problem_out(p, say).model_dump(mode="json") for p in exc.problems]
        raise PlanRejected(message, details={"problems": problems}) from None
    except NonSwappableOverlap as exc:
        raise OverlapRejected(
            N_(
                "Borgerens faste besøg (fx medicin) ville overlappe: {conflicts}.",
                conflicts=exc.args[0],
            ),
            details={"conflicts": [_conflict_json(c) for c in exc.conflicts]},
        ) from None


def _conflict_json(conflict: Any) -> dict[str, Any]:
    return {
        "first": {"plan_id": conflict.first.key.plan_id, "at": conflict.first.start.isoformat()},
        "second": {"plan_id": conflict.second.key.plan_id, "at": conflict.second.start.isoformat()},
    }


def _rule(rrule: str | None, schedule: ScheduleIn | None) -> str:
    """The RRULE given, or the one the days in words make."""
    if schedule is None:
        assert rrule is not None  # the wire model requires one of the two
        return rrule
    try:
        return to_rrule(schedule.words())
    except WordsInvalid as exc:
        message = N_("Dagene giver ingen plan: {reason}.", reason=exc.args[0])
        raise ScheduleRejected(message, details={"field": "schedule"}) from None


async def org_citizen(session: AsyncSession, identity: StaffIdentity, citizen_id: int) -> Citizen:
    """A citizen of the caller's organisation (a nurse: of one of her teams)."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None or citizen.organisation_id != identity.organisation_id:
        raise NotFound(N_("Borgeren findes ikke."))
    if not identity.org_wide and citizen.team_id not in identity.team_ids:
        raise Forbidden(N_("Sygeplejersker ændrer kun planer for borgere i deres eget team."))
    return citizen


async def _plan(session: AsyncSession, identity: StaffIdentity, plan_id: int) -> VisitPlan:
    """A plan of a citizen of the caller's organisation."""
    plan = await session.get(VisitPlan, plan_id)
    if plan is None:
        raise NotFound(N_("Besøgsplanen findes ikke."))
    await org_citizen(session, identity, plan.citizen_id)
    return plan


async def _type_id(session: AsyncSession, identity: StaffIdentity, code: str) -> int:
    """The id of the organisation's visit type `code`."""
    found = await session.scalar(
        select(VisitType.id).where(
            VisitType.organisation_id == identity.organisation_id, VisitType.code == code
        )
    )
    if found is None:
        raise InvalidInput(
            N_("Ukendt besøgstype: {code}.", code=code), details={"field": "visit_type"}
        )
    return found


async def _check_team(session: AsyncSession, identity: StaffIdentity, team_id: int) -> None:
    team = await session.get(Team, team_id)
    if team is None or team.organisation_id != identity.organisation_id:
        raise InvalidInput(N_("Teamet findes ikke."), details={"field": "team_id"})


async def _type_code(session: AsyncSession, visit_type_id: int) -> str:
    code = await session.scalar(select(VisitType.code).where(VisitType.id == visit_type_id))
    return code or ""


async def _plan_view(session: AsyncSession, plan: VisitPlan) -> PlanOut:
    """A plan with its parts, as stored now."""
    code = await _type_code(session, plan.visit_type_id)
    changes = await session.scalars(select(PlanChange).where(PlanChange.plan_id == plan.id))
    adjustments = await session.scalars(
        select(PlanAdjustment).where(PlanAdjustment.plan_id == plan.id).order_by(PlanAdjustment.id)
    )
    pauses = await session.scalars(
        select(CitizenPause)
        .where(CitizenPause.citizen_id == plan.citizen_id)
        .order_by(CitizenPause.start)
    )
    return plan_out(plan, code, list(changes), list(adjustments), list(pauses))


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
    _audit_plan(request, session, identity, plan.id, action, detail)
    return PlanSaved(
        plan=await _plan_view(session, plan),
        warnings=[problem_out(w, reader_gettext(request)) for w in saved.warnings],
        generation=generation_out(saved.generation),
    )


def _audit_plan(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    plan_id: int,
    action: str,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session, action, actor=identity, subject=("visit_plan", plan_id), detail=detail,
        request=request,
    )  # fmt: skip


async def _enforce(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    plan_id: int,
    breaches: list[Breach],
    override_reason: str | None,
) -> None:
    """Refuse a change that breaks a medication rule, unless a nurse or visitator overrides it."""
    if not breaches:
        return
    if override_reason is None:
        first, say = breaches[0], reader_gettext(request)
        message = N_("Afvist: {breach}. {what}", breach=first.message, what=WHAT_TO_DO[first.rule])
        raise REFUSALS[first.rule](
            message,
            details={
                "breaches": [
                    {"code": b.rule.value, "message": translated(b.message, say), **b.facts}
                    for b in breaches
                ],
                "may_override": may_override(identity.role),
            },
        )
    if not may_override(identity.role):
        raise OverrideNotAllowed()
    detail = {
        "rules": [b.rule.value for b in breaches],
        "reason": override_reason,
        "facts": [b.facts for b in breaches],
    }
    _audit_plan(request, session, identity, plan_id, "plan.medication_override", detail)


@api.get("/api/plans", response=PlanList, summary="A citizen's visit plans (?citizen_id)")
async def list_plans(request: web.Request) -> PlanList:
    """Every plan of a citizen the caller may see (nurses and carers read, planners edit)."""
    raw = request.query.get("citizen_id", "")
    if not raw.isdigit():
        raise InvalidInput(N_("citizen_id skal være et tal."))
    async with request.app[sessionmaker_key].begin() as session:
        await require_citizen(request, session, int(raw))
        plans = await session.scalars(
            select(VisitPlan).where(VisitPlan.citizen_id == int(raw)).order_by(VisitPlan.id)
        )
        return PlanList(plans=[await _plan_view(session, p) for p in plans])


@api.get(PLAN, response=PlanOut, summary="One visit plan")
async def get_plan(request: web.Request) -> PlanOut:
    """One plan of a citizen the caller may see."""
    require_staff(request)  # before the lookup: a stranger learns nothing of which ids exist
    async with request.app[sessionmaker_key].begin() as session:
        plan = await session.get(VisitPlan, int(request.match_info["plan_id"]))
        if plan is None:
            raise NotFound(N_("Besøgsplanen findes ikke."))
        await require_citizen(request, session, plan.citizen_id)
        return await _plan_view(session, plan)


@api.get(f"{PLAN}/history", response=HistoryOut, summary="A plan's changes, newest first")
async def get_history(request: web.Request) -> HistoryOut:
    """Who changed what and why: the plan's audit events and its citizen's pauses."""
    require_staff(request)  # before the lookup: a stranger learns nothing of which ids exist
    async with request.app[sessionmaker_key].begin() as session:
        plan = await session.get(VisitPlan, int(request.match_info["plan_id"]))
        if plan is None:
            raise NotFound(N_("Besøgsplanen findes ikke."))
        await require_citizen(request, session, plan.citizen_id)
        return history_out(plan.id, await plan_history(session, plan), request_language(request))


@api.post("/api/plans/preview", body=PreviewIn, response=PreviewOut, summary="Preview 4 weeks")
async def preview_plan(request: web.Request, body: PreviewIn) -> PreviewOut:
    """The next four weeks of an unsaved plan form, with its problems; nothing is written."""
    rule = _rule(body.rrule, body.schedule)
    zone = request.app[settings_key].zone
    async with request.app[sessionmaker_key].begin() as session:
        await require_citizen(request, session, body.citizen_id)
        draft = PlanSpec(
            plan_id=0, citizen_id=body.citizen_id, visit_type=body.visit_type, rrule=rule,
            time_of_day=body.local_time, window_min=body.window_min,
            duration_min=body.duration_min, zone=zone, valid_from=body.valid_from,
            valid_to=body.valid_to, default_channel=Channel(body.default_channel),
            channels=weekday_channels({str(k): v for k, v in body.channel_by_weekday.items()}),
        )  # fmt: skip
        spec = await plan_edits.draft_spec(session, draft, body.plan_id, zone)
    found = plan_edits.preview(spec, local_day(utcnow(), zone))
    say = reader_gettext(request)
    notes = {p.on: translated(p.message, say) for p in found.problems if p.on is not None}
    visits = []
    for occ in found.visits:
        local = occ.start.astimezone(zone)
        visits.append(
            PreviewVisit(
                date=local.date(), time=local.time().replace(tzinfo=None),
                weekday=local.weekday(), visit_type=occ.visit_type, channel=occ.channel.value,
                source=occ.key.source, moved=occ.moved, note=notes.get(local.date()),
            )
        )  # fmt: skip
    return PreviewOut(
        rrule=rule, rrule_text=describe(rule, request_language(request)), start=found.start,
        end=found.end, visits=visits,
        problems=[problem_out(p, say) for p in found.problems], paused_days=found.paused_days,
    )  # fmt: skip


@api.post(
    "/api/plans",
    body=PlanCreate,
    response=PlanSaved,
    summary="Create a plan",
    status=201,
    roles=PLANNERS,
)
async def create_plan(request: web.Request, body: PlanCreate) -> PlanSaved:
    """A new plan for a citizen of the caller's organisation, with its visits generated."""
    identity = require_staff(request, *PLANNERS)
    rule = _rule(body.rrule, body.schedule)
    async with plan_transaction(request) as session:
        await org_citizen(session, identity, body.citizen_id)
        await _check_team(session, identity, body.team_id)
        plan = VisitPlan(
            citizen_id=body.citizen_id,
            visit_type_id=await _type_id(session, identity, body.visit_type),
            team_id=body.team_id,
            rrule=rule,
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
        detail = {
            "citizen_id": body.citizen_id,
            "visit_type": body.visit_type,
            "changes": diff({}, snapshot(plan, body.visit_type)),
            "reason": body.reason,
        }
        return await _save(request, session, identity, plan, "plan.create", detail)


@api.post(
    PLAN,
    body=PlanEdit,
    response=PlanSaved,
    summary="Edit a plan (fields given change)",
    roles=PLANNERS,
)
async def edit_plan(request: web.Request, body: PlanEdit) -> PlanSaved:
    """Change a plan; its future untouched visits follow, documented visits never change."""
    identity = require_staff(request, *PLANNERS)
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        before = snapshot(plan, await _type_code(session, plan.visit_type_id))
        if body.visit_type is not None:
            new_type = await _type_id(session, identity, body.visit_type)
            breaches = await plan_edits.retype_breaches(
                session, identity.organisation_id, plan.visit_type_id, new_type
            )
            await _enforce(request, session, identity, plan.id, breaches, body.override_reason)
            plan.visit_type_id = new_type
        await _apply_edit(session, identity, plan, body)
        after = snapshot(plan, await _type_code(session, plan.visit_type_id))
        detail = {"changes": diff(before, after), "reason": body.reason}
        return await _save(request, session, identity, plan, "plan.edit", detail)


async def _apply_edit(
    session: AsyncSession, identity: StaffIdentity, plan: VisitPlan, body: PlanEdit
) -> None:
    """Set the fields the edit gives (the visit type is checked and set by the caller)."""
    if body.team_id is not None:
        await _check_team(session, identity, body.team_id)
        plan.team_id = body.team_id
    if body.rrule is not None or body.schedule is not None:
        plan.rrule = _rule(body.rrule, body.schedule)
    for name in ("local_time", "window_min", "duration_min", "valid_from"):
        if getattr(body, name) is not None:
            setattr(plan, name, getattr(body, name))
    if body.default_channel is not None:
        plan.default_channel = Channel(body.default_channel)
    if body.channel_by_weekday is not None:
        plan.channel_by_weekday = {str(k): v for k, v in body.channel_by_weekday.items()}
    if "valid_to" in body.model_fields_set:
        plan.valid_to = body.valid_to


@api.post(
    f"{PLAN}/end",
    body=PlanEnd,
    response=PlanSaved,
    summary="End a plan after a day",
    roles=PLANNERS,
)
async def end_plan(request: web.Request, body: PlanEnd) -> PlanSaved:
    """No visits after `last_day`; later untouched visits are cancelled with a reason."""
    identity = require_staff(request, *PLANNERS)
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        old = None if plan.valid_to is None else plan.valid_to.isoformat()
        plan.valid_to = body.last_day
        detail = {
            "last_day": body.last_day.isoformat(),
            "changes": {"valid_to": [old, body.last_day.isoformat()]},
            "reason": body.reason,
        }
        return await _save(request, session, identity, plan, "plan.end", detail)


def _check_change(body: ChangeCreate) -> None:
    """A move needs a date and a time; a switch needs a channel."""
    if body.kind == "move" and (body.move_to_date is None or body.move_to_time is None):
        raise ChangeIncomplete(N_("En flytning kræver move_to_date og move_to_time."))
    if body.kind == "switch" and body.channel is None:
        raise ChangeIncomplete(N_("Et skift af kanal kræver en kanal."))


async def _move_breaches(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    plan: VisitPlan,
    body: ChangeCreate,
) -> list[Breach]:
    """The medication rules the move in `body` would break (none for other kinds)."""
    if body.kind != "move" or body.move_to_date is None or body.move_to_time is None:
        return []
    gap_h = (await orgsettings.load(session, identity.organisation_id)).medication_min_gap_h
    return await plan_edits.move_breaches(
        session,
        plan,
        body.date,
        dt.datetime.combine(body.move_to_date, body.move_to_time),
        zone=request.app[settings_key].zone,
        min_gap=dt.timedelta(hours=gap_h),
    )


@api.post(
    f"{PLAN}/changes",
    body=ChangeCreate,
    response=PlanSaved,
    summary="One-off change",
    roles=CHANGERS,
)
async def change_day(request: web.Request, body: ChangeCreate) -> PlanSaved:
    """Move, cancel or switch the channel of one day's visit (replaces that day's change)."""
    identity = require_staff(request, *CHANGERS)
    _check_change(body)
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        breaches = await _move_breaches(request, session, identity, plan, body)
        await _enforce(request, session, identity, plan.id, breaches, body.override_reason)
        change = await session.scalar(
            select(PlanChange).where(
                PlanChange.plan_id == plan.id, PlanChange.local_date == body.date
            )
        )
        before = change_json(change)
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
        detail = {
            "date": body.date.isoformat(),
            "kind": body.kind,
            "changes": {body.date.isoformat(): [before, change_json(change)]},
            "reason": body.reason,
        }
        return await _save(request, session, identity, plan, "plan.change", detail)


@api.post(
    PLAN + r"/changes/{date:\d{4}-\d{2}-\d{2}}/remove",
    body=Empty,
    response=PlanSaved,
    summary="Undo a one-off change",
    roles=CHANGERS,
)
async def remove_change(request: web.Request, body: Empty) -> PlanSaved:
    """The day follows the plan again."""
    identity = require_staff(request, *CHANGERS)
    try:
        day = dt.date.fromisoformat(request.match_info["date"])
    except ValueError:
        raise InvalidInput(N_("Datoen skal skrives ÅÅÅÅ-MM-DD.")) from None
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        change = await session.scalar(
            select(PlanChange).where(PlanChange.plan_id == plan.id, PlanChange.local_date == day)
        )
        if change is None:
            raise NotFound(N_("Der er ingen ændring den dag."))
        detail = {
            "date": day.isoformat(),
            "changes": {day.isoformat(): [change_json(change), None]},
        }
        await session.delete(change)
        return await _save(request, session, identity, plan, "plan.change_removed", detail)


@api.post(
    f"{PLAN}/adjustments",
    body=AdjustmentCreate,
    response=PlanSaved,
    summary="Add extra visits",
    roles=PLANNERS,
)
async def add_adjustment(request: web.Request, body: AdjustmentCreate) -> PlanSaved:
    """Temporary extra visits on top of the plan, without rewriting it."""
    identity = require_staff(request, *PLANNERS)
    rule = _rule(body.rrule, body.schedule)
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        adjustment = PlanAdjustment(
            plan_id=plan.id,
            visit_type_id=await _type_id(session, identity, body.visit_type),
            rrule=rule,
            local_time=body.local_time,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            channel=Channel(body.channel),
            window_min=body.window_min,
            duration_min=body.duration_min,
            reason=body.reason,
            created_by_staff_id=identity.staff_id,
        )
        session.add(adjustment)
        await session.flush()
        extra = {
            "visit_type": body.visit_type, "days": describe(rule),
            "local_time": body.local_time.strftime("%H:%M"), "channel": body.channel,
            "valid_from": body.valid_from.isoformat(), "valid_to": body.valid_to.isoformat(),
        }  # fmt: skip
        detail = {
            "adjustment_id": adjustment.id,
            "visit_type": body.visit_type,
            "changes": {f"adjustment {adjustment.id}": [None, extra]},
            "reason": body.reason,
        }
        return await _save(request, session, identity, plan, "plan.adjust", detail)


@api.post(
    PLAN + r"/adjustments/{adjustment_id:\d+}/remove",
    body=Empty,
    response=PlanSaved,
    summary="Remove extra visits",
    roles=PLANNERS,
)
async def remove_adjustment(request: web.Request, body: Empty) -> PlanSaved:
    """Stop a temporary adjustment; its future untouched visits are cancelled."""
    identity = require_staff(request, *PLANNERS)
    async with plan_transaction(request) as session:
        plan = await _plan(session, identity, int(request.match_info["plan_id"]))
        adjustment = await session.get(PlanAdjustment, int(request.match_info["adjustment_id"]))
        if adjustment is None or adjustment.plan_id != plan.id:
            raise NotFound(N_("Justeringen findes ikke."))
        await session.delete(adjustment)
        detail = {"adjustment_id": adjustment.id, "reason": adjustment.reason}
        return await _save(request, session, identity, plan, "plan.adjust_removed", detail)
