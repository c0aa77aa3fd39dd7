"""Import citizens and visit plans from a care-record export, with a line-by-line report."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from ..auth.authz import require_staff
from ..errors import InvalidInput
from ..keys import sessionmaker_key, settings_key
from ..models import utcnow
from ..scheduling.generation import generate
from ..scheduling.importer import ImportFormatError, import_lines, parse
from ..vocabulary import Role
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="imports")
MAX_CONTENT = 5_000_000


class ImportRequest(WireModel):
    """The export's text and its format; `dry_run` only validates."""

    format: Literal["csv", "json"]
    content: str = Field(max_length=MAX_CONTENT)
    dry_run: bool = False


class LineProblemOut(WireModel):
    """Why one line cannot be imported."""

    code: str
    message: str


class ReportLineOut(WireModel):
    """One input line's result."""

    line: str
    ok: bool
    citizen_ref: str | None
    plan_ref: str | None
    problems: list[LineProblemOut]


class ImportReport(WireModel):
    """The whole report; `imported` is false unless every line was valid."""

    imported: bool
    citizens: int
    plans: int
    visits_generated: int
    lines: list[ReportLineOut]


class ImportRejected(InvalidInput):
    """At least one line is invalid, so nothing was imported."""

    status = 422
    code = "import_invalid"
    default_message = "The file has invalid lines; nothing was imported."


@api.post("/api/imports", body=ImportRequest, response=ImportReport, summary="Import an export")
async def post_import(request: web.Request, body: ImportRequest) -> ImportReport:
    """Validate every line, then import all of them (and generate visits) or nothing."""
    identity = require_staff(request, Role.PLANNER, Role.VISITATOR, Role.ADMIN)
    try:
        lines = parse(body.content, body.format)
    except ImportFormatError as exc:
        raise InvalidInput(str(exc)) from None
    settings = request.app[settings_key]
    async with request.app[sessionmaker_key].begin() as session:
        result = await import_lines(
            session, identity.organisation_id, lines, zone=settings.zone, dry_run=body.dry_run
        )
        report = ImportReport(
            imported=result.ok and not body.dry_run,
            citizens=len(result.citizens),
            plans=len(result.plans),
            visits_generated=0,
            lines=[
                ReportLineOut(
                    line=r.line,
                    ok=r.ok,
                    citizen_ref=r.citizen_ref,
                    plan_ref=r.plan_ref,
                    problems=[LineProblemOut(code=p.code, message=p.message) for p in r.problems],
                )
                for r in result.lines
            ],
        )
        if not result.ok:
            raise ImportRejected(details=report.model_dump(mode="json"))
        if result.plans:
            generated = await generate(
                session,
                utcnow(),
                zone=settings.zone,
                horizon_days=settings.scheduling_horizon_days,
                plan_ids=result.plans,
            )
            report.visits_generated = generated.created
    return report
