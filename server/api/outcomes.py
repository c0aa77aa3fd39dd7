"""Outcomes and observations over JSON: record after the call, edit briefly, then amend."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit, orgsettings
from ..auth.authz import require_visit
from ..errors import NotFound
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, team_feed_key
from ..models import InboxItem, Observation, Outcome, Staff, Visit, utcnow
from ..translatable import N_
from ..visits import outcomes
from ..visits.updates import update_of
from ..vocabulary import ObservationCode, OutcomeKind
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="outcomes")

Text = Annotated[str, StringConstraints(max_length=2000)]


class ObservationIn(WireModel):
    """A coded observation; ``value`` holds a measurement such as a blood-sugar reading."""

    code: ObservationCode
    value: Annotated[str, StringConstraints(max_length=100)] | None = None
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ChecklistStepIn(WireModel):
    """A guidance step shown during the call, in the words shown, and whether it was confirmed."""

    step: Annotated[int, Field(ge=1, le=outcomes.CHECKLIST_MAX_STEPS)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=outcomes.CHECKLIST_TEXT_MAX)]
    confirmed: bool


class ChecklistStepOut(WireModel):
    """A stored checklist step."""

    step: int
    text: str
    confirmed: bool


class OutcomeIn(WireModel):
    """The outcome of a visit; ``reason`` is required unless ``kind`` is completed.

    ``checklist`` lists every step the call view showed (medication), confirmed or not.
    """

    kind: OutcomeKind
    reason: Text | None = None
    observations: Annotated[list[ObservationIn], Field(max_length=20)] = []
    note: Text | None = None
    checklist: (
        Annotated[list[ChecklistStepIn], Field(max_length=outcomes.CHECKLIST_MAX_STEPS)] | None
    ) = None


class ObservationOut(WireModel):
    """An observation as recorded."""

    id: int
    code: ObservationCode
    value: str | None
    note: str | None
    author_staff_id: int | None
    recorded_at: dt.datetime


class OutcomeOut(WireModel):
    """An outcome version; ``editable_until`` is set while the caller may still edit it."""

    id: int
    visit_id: int
    kind: OutcomeKind
    reason: str | None
    author_staff_id: int | None
    author_name: str | None
    recorded_at: dt.datetime
    amends_id: int | None
    editable_until: dt.datetime | None
    task_id: int | None = None
    checklist: list[ChecklistStepOut] | None = None


class OutcomeHistory(WireModel):
    """Every version of a visit's outcome, oldest first, and the visit's observations."""

    visit_id: int
    status: str
    outcomes: list[OutcomeOut]
    observations: list[ObservationOut]


def _input(body: OutcomeIn) -> outcomes.OutcomeInput:
    return outcomes.OutcomeInput(
        kind=body.kind,
        reason=body.reason,
        observations=tuple(
            outcomes.ObservationInput(o.code, o.value, o.note) for o in body.observations
        ),
        note=body.note,
        checklist=None
        if body.checklist is None
        else tuple(outcomes.ChecklistStep(s.step, s.text, s.confirmed) for s in body.checklist),
    )


async def _out(
    session: AsyncSession,
    identity: StaffIdentity,
    outcome: Outcome,
    edit_minutes: int,
    task: InboxItem | None = None,
) -> OutcomeOut:
    author = await session.get(Staff, outcome.author_staff_id) if outcome.author_staff_id else None
    editable = outcomes.may_edit(outcome, identity, edit_minutes, utcnow())
    return OutcomeOut(
        id=outcome.id,
        visit_id=outcome.visit_id,
        kind=outcome.kind,
        reason=outcome.reason,
        author_staff_id=outcome.author_staff_id,
        author_name=author.display_name if author else None,
        recorded_at=outcome.recorded_at,
        amends_id=outcome.amends_id,
        editable_until=outcomes.edit_deadline(outcome, edit_minutes) if editable else None,
        task_id=task.id if task else None,
        checklist=None
        if outcome.checklist is None
        else [ChecklistStepOut.model_validate(step) for step in outcome.checklist],
    )


def _audit(
    request: web.Request,
    session: AsyncSession,
    identity: StaffIdentity,
    action: str,
    visit: Visit,
    outcome: Outcome,
    task: InboxItem | None,
) -> None:
    detail = {"visit": visit.id, "outcome": outcome.id, "kind": outcome.kind.value}
    if task is not None:
        detail["task"] = task.id
    audit.record(
        session,
        action,
        actor=identity,
        subject=("citizen", visit.citizen_id),
        detail=detail,
        request=request,
    )


@api.post(
    r"/api/visits/{visit_id:\d+}/outcome",
    body=OutcomeIn,
    response=OutcomeOut,
    status=201,
    summary="Record the outcome of a visit",
)
async def record_outcome(request: web.Request, body: OutcomeIn) -> OutcomeOut:
    """The first outcome of a visit, with observations; "converted to physical" adds a task."""
    visit_id = int(request.match_info["visit_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, visit = await require_visit(request, session, visit_id, for_update=True)
        outcome, task = await outcomes.record(session, identity, visit, _input(body))
        _audit(request, session, identity, "outcome.record", visit, outcome, task)
        settings = await orgsettings.load(session, identity.organisation_id)
        result = await _out(session, identity, outcome, settings.outcome_edit_minutes, task)
    await request.app[team_feed_key].visit_changed(update_of(visit))
    return result


async def _load(
    request: web.Request, session: AsyncSession
) -> tuple[StaffIdentity, Visit, Outcome]:
    outcome = await session.get(Outcome, int(request.match_info["outcome_id"]))
    if outcome is None:
        raise NotFound(N_("Resultatet findes ikke."))
    identity, _, visit = await require_visit(request, session, outcome.visit_id, for_update=True)
    return identity, visit, outcome


@api.post(
    r"/api/outcomes/{outcome_id:\d+}/edit",
    body=OutcomeIn,
    response=OutcomeOut,
    summary="Correct an outcome shortly after recording it (author only)",
)
async def edit_outcome(request: web.Request, body: OutcomeIn) -> OutcomeOut:
    """The author corrects the outcome in place while the edit window is open."""
    async with request.app[sessionmaker_key].begin() as session:
        identity, visit, outcome = await _load(request, session)
        minutes = (await orgsettings.load(session, identity.organisation_id)).outcome_edit_minutes
        outcome, task = await outcomes.edit(
            session, identity, visit, outcome, _input(body), edit_minutes=minutes, now=utcnow()
        )
        _audit(request, session, identity, "outcome.edit", visit, outcome, task)
        result = await _out(session, identity, outcome, minutes, task)
    await request.app[team_feed_key].visit_changed(update_of(visit))
    return result


@api.post(
    r"/api/outcomes/{outcome_id:\d+}/amend",
    body=OutcomeIn,
    response=OutcomeOut,
    status=201,
    summary="Amend an outcome (a new version; the old one stays in the history)",
)
async def amend_outcome(request: web.Request, body: OutcomeIn) -> OutcomeOut:
    """A new version of the outcome that points at the one it replaces."""
    async with request.app[sessionmaker_key].begin() as session:
        identity, visit, old = await _load(request, session)
        outcome, task = await outcomes.amend(session, identity, visit, old, _input(body))
        _audit(request, session, identity, "outcome.amend", visit, outcome, task)
        minutes = (await orgsettings.load(session, identity.organisation_id)).outcome_edit_minutes
        result = await _out(session, identity, outcome, minutes, task)
    await request.app[team_feed_key].visit_changed(update_of(visit))
    return result


@api.get(
    r"/api/visits/{visit_id:\d+}/outcomes",
    response=OutcomeHistory,
    summary="A visit's outcome history and observations",
)
async def outcome_history(request: web.Request) -> OutcomeHistory:
    """Every outcome version (oldest first) and every observation of the visit."""
    visit_id = int(request.match_info["visit_id"])
    async with request.app[sessionmaker_key].begin() as session:
        identity, _, visit = await require_visit(request, session, visit_id)
        minutes = (await orgsettings.load(session, identity.organisation_id)).outcome_edit_minutes
        rows = await session.scalars(
            select(Outcome).where(Outcome.visit_id == visit_id).order_by(Outcome.id)
        )
        versions = [await _out(session, identity, o, minutes) for o in rows]
        observations = await session.scalars(
            select(Observation).where(Observation.visit_id == visit_id).order_by(Observation.id)
        )
        return OutcomeHistory(
            visit_id=visit_id,
            status=visit.status.value,
            outcomes=versions,
            observations=[
                ObservationOut.model_validate(o, from_attributes=True) for o in observations
            ],
        )
