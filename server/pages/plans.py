"""The plan editor page (`/citizens/{id}/plans`): a citizen's visit plans in words.

Planners, visitators and administrators create and change plans, pauses, one-off changes and
extra visits here; nurses of the citizen's team make one-off changes (medication overrides);
everyone else who may see the citizen reads. The page carries the plans as stored; the
forms, the four-week preview and each plan's history go through the plan API
(`web/static/js/planeditor.js`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from ..auth.authz import require_citizen
from ..citizens import contact_persons
from ..keys import sessionmaker_key, settings_key
from ..localtime import local_day
from ..models import CitizenPause, Team, VisitPlan, VisitType, utcnow
from ..scheduling.medication import may_override
from ..scheduling.plan_words import from_rrule
from ..scheduling.rrule_text import describe
from ..templating import render
from ..vocabulary import Role

routes = web.RouteTableDef()
PLANNER_ROLES = frozenset({Role.PLANNER, Role.VISITATOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One plan as the page lists it."""

    plan: VisitPlan
    type_name: str
    type_code: str
    non_swappable: bool
    words: str  # the rule in words ("Mandag, onsdag og fredag")
    editable_words: bool  # the editor can open the rule in its form


@routes.get(r"/citizens/{citizen_id:\d+}/plans", name="plan_editor")
async def plan_editor(request: web.Request) -> web.Response:
    """The citizen's plans, pauses and contact persons, with the editor's forms."""
    citizen_id = int(request.match_info["citizen_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, citizen = await require_citizen(request, session, citizen_id)
        org = identity.organisation_id
        types = list(
            await session.scalars(
                select(VisitType).where(VisitType.organisation_id == org).order_by(VisitType.id)
            )
        )
        by_id = {t.id: t for t in types}
        plans = await session.scalars(
            select(VisitPlan).where(VisitPlan.citizen_id == citizen_id).order_by(VisitPlan.id)
        )
        rows = [_row(p, by_id[p.visit_type_id], identity.language) for p in plans]
        teams = list(
            await session.scalars(
                select(Team).where(Team.organisation_id == org).order_by(Team.name)
            )
        )
        pauses = list(
            await session.scalars(
                select(CitizenPause)
                .where(CitizenPause.citizen_id == citizen_id)
                .order_by(CitizenPause.start)
            )
        )
        contacts = await contact_persons.contact_persons(session, citizen_id)
        candidates = await contact_persons.candidates(session, citizen)
    may_edit = identity.role in PLANNER_ROLES
    nurse = identity.role == Role.NURSE  # one-off changes for her team's citizens
    context = {
        "citizen": citizen,
        "plans": rows,
        "types": types,
        "teams": teams,
        "pauses": pauses,
        "contacts": contacts,
        "candidates": candidates,
        "may_edit": may_edit,
        "may_change": may_edit or (nurse and citizen.team_id in identity.team_ids),
        "may_override": may_override(identity.role),
        "today": local_day(utcnow(), request.app[settings_key].zone),
    }
    return render(request, "plans.html", context)


def _row(plan: VisitPlan, visit_type: VisitType, language: str) -> PlanRow:
    """A plan with its type's name and its rule in words."""
    name = visit_type.name_en if language == "en" else visit_type.name_da
    return PlanRow(
        plan=plan,
        type_name=name,
        type_code=visit_type.code,
        non_swappable=visit_type.non_swappable,
        words=describe(plan.rrule, language),
        editable_words=from_rrule(plan.rrule) is not None,
    )
