"""Import citizens and visit plans from a care-record export: background jobs with a report.

`POST /api/import-jobs?format=csv|json&dry_run=0|1&filename=…` takes the file itself as the
body, streamed to a temporary file (not bound by the app's JSON body limit, but by
`MAX_UPLOAD_BYTES`), and answers 202 with the queued job at once. `GET /api/import-jobs/{id}`
tells its progress and, when finished, its report. `POST /api/imports` (the file's text in a
JSON body) runs the same job and waits for it, answering with the whole line report.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from collections.abc import Callable
from typing import IO, ClassVar, Literal

from aiohttp import web
from pydantic import Field

from ..auth.authz import require_staff
from ..errors import AppError, InvalidInput, NotFound, PayloadTooLarge
from ..i18n import reader_gettext
from ..identity import StaffIdentity
from ..keys import sessionmaker_key
from ..scheduling.import_jobs import (
    MAX_UPLOAD_BYTES,
    JobRequest,
    JobState,
    JobView,
    Outcome,
    get_job,
    import_jobs_key,
    recent_jobs,
)
from ..scheduling.importer import LineProblem
from ..translatable import N_, translated
from ..vocabulary import Role
from .models import WireModel
from .spec import ApiRoutes, Operation, model_response

api = ApiRoutes(tag="imports")
MAX_CONTENT = 5_000_000
SPOOL_IN_MEMORY = 1024 * 1024  # larger uploads go to a temporary file on disk
CHUNK = 64 * 1024
IMPORT_ROLES = (Role.PLANNER, Role.VISITATOR, Role.ADMIN)


class ImportRequest(WireModel):
    """The export's text and its format; `dry_run` only validates."""

    names_bad_lines: ClassVar[bool] = True  # a NUL is reported on its line, not refused whole

    format: Literal["csv", "json"]
    content: str = Field(max_length=MAX_CONTENT)
    dry_run: bool = False


class LineProblemOut(WireModel):
    """Why one line cannot be imported, or (as a warning) what to know about it."""

    code: str
    message: str


class ReportLineOut(WireModel):
    """One input line's result."""

    line: str
    ok: bool
    citizen_ref: str | None
    plan_ref: str | None
    problems: list[LineProblemOut]
    warnings: list[LineProblemOut] = []


class ImportReport(WireModel):
    """The whole report; `imported` is false unless every line was valid."""

    imported: bool
    citizens: int
    plans: int
    visits_generated: int
    lines: list[ReportLineOut]


class UnreachableOut(WireModel):
    """A citizen who cannot be rung until a screen-visit consent is recorded."""

    ref: str
    name: str


class JobReportOut(WireModel):
    """A finished job's report: the lines with problems or warnings, and who cannot be rung."""

    imported: bool
    bad_lines: int
    consents: int
    file_error: LineProblemOut | None
    lines: list[ReportLineOut]
    more_lines: int
    unreachable: list[UnreachableOut]


class ImportJobOut(WireModel):
    """An import job and its progress (`done_lines` of `total_lines`, `percent`)."""

    id: int
    state: JobState
    format: str
    filename: str | None
    dry_run: bool
    staff_name: str | None
    total_lines: int
    done_lines: int
    percent: int
    citizens: int
    plans: int
    visits_generated: int
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    report: JobReportOut | None


class ImportJobList(WireModel):
    """The organisation's recent import jobs, newest first (without their reports)."""

    jobs: list[ImportJobOut]


class ImportRejected(InvalidInput):
    """At least one line is invalid, so nothing was imported."""

    status = 422
    code = "import_invalid"
    default_message = N_("Filen har ugyldige linjer; intet blev importeret.")


class UploadTooLarge(PayloadTooLarge):
    """The uploaded file is larger than an import may be."""

    code = "import_too_large"
    default_message = N_("Filen er større end {mb} MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024))


class ImportFailed(AppError):
    """The job stopped before it finished (its error says how to finish it)."""

    status = 500
    code = "import_failed"
    default_message = N_("Importen mislykkedes; kør den igen for at gøre den færdig.")


@api.post(
    "/api/imports",
    body=ImportRequest,
    response=ImportReport,
    summary="Import an export",
    roles=IMPORT_ROLES,
)
async def post_import(request: web.Request, body: ImportRequest) -> ImportReport:
    """Validate every line, then import all of them (and generate visits) or nothing."""
    identity = require_staff(request, *IMPORT_ROLES)
    jobs = request.app[import_jobs_key]
    job_request = JobRequest(body.format, None, body.dry_run)
    job_id = await jobs.submit(identity, job_request, io.BytesIO(body.content.encode()))
    outcome = await jobs.wait(job_id)
    if outcome.file_error is not None:
        raise InvalidInput(outcome.file_error.message)
    if outcome.state is JobState.FAILED:
        raise ImportFailed()
    report = _whole_report(outcome, body.dry_run, reader_gettext(request))
    if outcome.state is JobState.REJECTED:
        raise ImportRejected(details=report.model_dump(mode="json"))
    return report


def _whole_report(outcome: Outcome, dry_run: bool, say: Callable[[str], str] = str) -> ImportReport:
    """Every line's result, its messages in ``say``'s language."""
    return ImportReport(
        imported=outcome.state is JobState.DONE and not dry_run,
        citizens=outcome.citizens,
        plans=outcome.plans,
        visits_generated=outcome.visits_generated,
        lines=[
            ReportLineOut(
                line=r.line,
                ok=r.ok,
                citizen_ref=r.citizen_ref,
                plan_ref=r.plan_ref,
                problems=[_problem(p, say) for p in r.problems],
                warnings=[_problem(p, say) for p in r.warnings],
            )
            for r in outcome.lines
        ],
    )


def _problem(problem: LineProblem, say: Callable[[str], str]) -> LineProblemOut:
    return LineProblemOut(code=problem.code, message=translated(problem.message, say))


async def post_import_job(request: web.Request) -> web.Response:
    """Stream the uploaded file to a temporary file and start its job; 202 with the job."""
    identity = require_staff(request, *IMPORT_ROLES)
    job_request = _job_request(request)
    source = await _spool(request)
    job_id = await request.app[import_jobs_key].submit(identity, job_request, source)
    return model_response(await _job_out(request, identity, job_id), 202)


def _job_request(request: web.Request) -> JobRequest:
    """The upload's format, file name and dry-run flag from the query string."""
    query = request.query
    fmt = query.get("format", "")
    if fmt not in {"csv", "json"}:
        raise InvalidInput(N_("format skal være csv eller json."))
    dry_run = query.get("dry_run", "0").lower()
    if dry_run not in {"0", "1", "true", "false"}:
        raise InvalidInput(N_("dry_run skal være 0 eller 1."))
    name = "".join(c for c in query.get("filename", "") if c.isprintable())[:200].strip()
    return JobRequest(fmt, name or None, dry_run in {"1", "true"})


async def _spool(request: web.Request) -> IO[bytes]:
    """The body in a temporary file, read in chunks; over the cap → 413 `import_too_large`."""
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge()
    # Not a `with`: on success the open file goes to the job, which closes it.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        size = 0
        async for chunk in request.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UploadTooLarge()
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool


@api.get(r"/api/import-jobs/{job_id:\d+}", response=ImportJobOut, summary="An import job")
async def get_import_job(request: web.Request) -> ImportJobOut:
    """One job of the caller's organisation: progress, and the report when finished."""
    identity = require_staff(request, *IMPORT_ROLES)
    return await _job_out(request, identity, int(request.match_info["job_id"]))


async def _job_out(request: web.Request, identity: StaffIdentity, job_id: int) -> ImportJobOut:
    async with request.app[sessionmaker_key]() as session:
        view = await get_job(session, identity.organisation_id, job_id)
    if view is None:
        raise NotFound(N_("Importen findes ikke."))
    return job_out(view, with_report=True)


@api.get("/api/import-jobs", response=ImportJobList, summary="Recent import jobs")
async def list_import_jobs(request: web.Request) -> ImportJobList:
    """The organisation's recent imports, newest first, so a planner can come back to one."""
    identity = require_staff(request, *IMPORT_ROLES)
    async with request.app[sessionmaker_key]() as session:
        views = await recent_jobs(session, identity.organisation_id)
    return ImportJobList(jobs=[job_out(view, with_report=False) for view in views])


def job_out(view: JobView, *, with_report: bool) -> ImportJobOut:
    """A job on the wire."""
    job = view.job
    report = view.report if with_report else None
    return ImportJobOut(
        id=job.id,
        state=JobState(job.state),
        format=job.format,
        filename=job.filename,
        dry_run=job.dry_run,
        staff_name=view.staff_name,
        total_lines=job.total_lines,
        done_lines=job.done_lines,
        percent=view.percent,
        citizens=job.citizens,
        plans=job.plans,
        visits_generated=job.visits_generated,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        report=None if report is None else JobReportOut.model_validate(report),
    )


# The upload takes a file, not JSON, so it is added by hand (and documented here).
api.table.post("/api/import-jobs", name="post_import_job")(post_import_job)
api.operations.append(
    Operation(
        "POST",
        "/api/import-jobs",
        "Upload a file to import (the raw CSV or JSON as the body); 202 with the job",
        api.tag,
        None,
        ImportJobOut,
        202,
        False,
    )
)
