"""Imports as background jobs: the upload is answered at once, the work runs off the request.

A job (an `ImportJob` row) goes queued → validating → writing → done, or ends `rejected`
(a line is invalid: nothing written) or `failed` (an unexpected error or a stop). The rules:

* Validation is complete before anything is written (all or nothing): parsing and the
  CPU-heavy checks (plan validation, occurrence expansion, overlaps) run in a worker thread,
  so the event loop keeps answering tablets, consoles and `/healthz`.
* Writing goes in batches of a few citizens, each batch in its own short transaction followed
  by the visits of its plans (`generation.generate` with `plan_ids`), and `done_lines` moves on
  after each. A job that fails half-way has written some batches; importing is idempotent by
  the care record's refs, so running the same file again finishes it (its error says so).
* Until an `ImportJob` has an owner column, a running job's `report` names its process
  (``{"owner": "host:pid:token"}``, `process_owner.owner_id`, as live calls do); at start-up,
  jobs whose process on this host is gone (or is this very pid, restarted) are marked failed
  with a plain message. Another host's jobs are left alone.
* `ImportJobs` owns the tasks; `import_jobs_ctx` creates it for the app and, on shutdown,
  cancels and awaits them (a cancelled job is marked failed).

Every outcome is audited as the planner who uploaded: `import.run` or `import.rejected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import audit
from ..identity import StaffIdentity
from ..keys import sessionmaker_key, settings_key
from ..models import ImportJob, Staff, utcnow
from ..process_owner import owner_gone, owner_id
from ..settings import Settings
from .generation import generate, horizon
from .import_writer import Writer, batches, lookups
from .importer import ImportFormatError, ImportLine, ReportLine, check, decode, parse

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # 50 MB: ten times the largest export seen (5,000 rows)
WRITE_BATCH_LINES = 50  # lines per write transaction: a few ms of SQLite's single writer
MAX_REPORT_LINES = 1000  # problem/warning lines kept in the stored report
RECENT_JOBS = 20
RUN_AGAIN = "Importen er idempotent: upload den samme fil igen for at gøre den færdig."
STOPPED = "Serveren stoppede under importen. " + RUN_AGAIN
INTERRUPTED = "Serveren blev genstartet under importen. " + RUN_AGAIN
FAILED = "Importen fejlede uventet. " + RUN_AGAIN


class JobState(enum.StrEnum):
    """Where a job is; the last three are final."""

    QUEUED = "queued"
    VALIDATING = "validating"
    WRITING = "writing"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


RUNNING = (JobState.QUEUED, JobState.VALIDATING, JobState.WRITING)


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What was uploaded, and how."""

    fmt: str  # "csv" | "json"
    filename: str | None
    dry_run: bool


@dataclass(slots=True)
class Outcome:
    """How a job ended, with every line's result (the stored report keeps only some)."""

    state: JobState
    lines: list[ReportLine] = field(default_factory=list)
    file_error: ImportFormatError | None = None
    citizens: int = 0
    plans: int = 0
    visits_generated: int = 0
    consents: int = 0

    @property
    def bad_lines(self) -> int:
        """How many lines have problems."""
        return sum(1 for line in self.lines if not line.ok)


def report_of(outcome: Outcome, dry_run: bool, names: dict[str, str]) -> dict[str, Any]:
    """The report stored on the job: counts, the lines worth reading and who cannot be rung."""
    noteworthy = [line for line in outcome.lines if line.problems or line.warnings]
    unreachable = [
        ref
        for line in outcome.lines
        for w in line.warnings
        if w.code == "no_screen_consent" and (ref := line.citizen_ref) is not None
    ]
    error = outcome.file_error
    return {
        "imported": outcome.state is JobState.DONE and not dry_run,
        "bad_lines": outcome.bad_lines,
        "consents": outcome.consents,
        "file_error": None if error is None else {"code": error.code, "message": error.message},
        "lines": [_line_json(line) for line in noteworthy[:MAX_REPORT_LINES]],
        "more_lines": max(0, len(noteworthy) - MAX_REPORT_LINES),
        "unreachable": [{"ref": ref, "name": names.get(ref, "")} for ref in unreachable],
    }


def _line_json(line: ReportLine) -> dict[str, Any]:
    def problems(found: list[Any]) -> list[dict[str, str]]:
        return [{"code": p.code, "message": p.message} for p in found]

    return {
        "line": line.line,
        "ok": line.ok,
        "citizen_ref": line.citizen_ref,
        "plan_ref": line.plan_ref,
        "problems": problems(line.problems),
        "warnings": problems(line.warnings),
    }


def _read(source: IO[bytes], fmt: str) -> list[ImportLine]:
    """Decode and parse the upload (in a worker thread: it is CPU and file work)."""
    source.seek(0)
    return parse(decode(source.read()), fmt)


@dataclass(slots=True)
class ImportJobs:
    """The import tasks of this process; one `submit` per upload."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    owner: str = field(default_factory=owner_id)
    tasks: dict[int, asyncio.Task[Outcome]] = field(default_factory=dict)

    async def submit(self, identity: StaffIdentity, request: JobRequest, source: IO[bytes]) -> int:
        """Store a queued job and start it; the job's id. The job closes `source`."""
        try:
            async with self.sessionmaker.begin() as session:
                job = ImportJob(
                    organisation_id=identity.organisation_id,
                    staff_id=identity.staff_id,
                    format=request.fmt,
                    filename=request.filename,
                    dry_run=request.dry_run,
                    state=JobState.QUEUED,
                    report={"owner": self.owner},
                )
                session.add(job)
        except BaseException:
            source.close()
            raise
        task = asyncio.create_task(self._run(job.id, identity, request, source))
        self.tasks[job.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job.id, None))
        return job.id

    async def wait(self, job_id: int) -> Outcome:
        """The outcome of a job of this process (a caller that gives up does not stop it)."""
        return await asyncio.shield(self.tasks[job_id])

    async def close(self) -> None:
        """Cancel the running jobs and wait for them to record that they stopped."""
        running = list(self.tasks.values())
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(
        self, job_id: int, identity: StaffIdentity, request: JobRequest, source: IO[bytes]
    ) -> Outcome:
        run = _Run(self, job_id, identity, request)
        try:
            return await run.pipeline(source)
        except asyncio.CancelledError:
            await run.fail(STOPPED)
            raise
        except Exception:  # a job must end with a state the planner can read, never hang
            logger.exception("import job %s failed", job_id)
            await run.fail(FAILED)
            return Outcome(JobState.FAILED)
        finally:
            source.close()


@dataclass(slots=True)
class _Run:
    """One job's steps."""

    jobs: ImportJobs
    job_id: int
    identity: StaffIdentity
    request: JobRequest

    async def pipeline(self, source: IO[bytes]) -> Outcome:
        """Validate everything, then write in batches (or reject, or stop after a dry run)."""
        await self.set(state=JobState.VALIDATING)
        try:
            lines = await asyncio.to_thread(_read, source, self.request.fmt)
        except ImportFormatError as exc:
            return await self.finish(Outcome(JobState.REJECTED, file_error=exc), [])
        await self.set(total_lines=len(lines))
        settings = self.jobs.settings
        days = horizon(utcnow(), settings.scheduling_horizon_days, settings.zone)
        async with self.jobs.sessionmaker() as session:
            found = await lookups(session, self.identity.organisation_id, settings.zone, days)
        await asyncio.to_thread(check, lines, found)
        reports = [line.report for line in lines]
        if not all(report.ok for report in reports):
            return await self.finish(Outcome(JobState.REJECTED, reports), lines)
        if self.request.dry_run:
            return await self.finish(Outcome(JobState.DONE, reports), lines)
        outcome = Outcome(JobState.DONE, reports)
        await self.set(state=JobState.WRITING)
        writer = Writer(self.identity.organisation_id, found, self.identity.staff_id)
        await self.write(writer, lines, outcome)
        return await self.finish(outcome, lines)

    async def write(self, writer: Writer, lines: list[ImportLine], outcome: Outcome) -> None:
        """Each batch: its rows in one transaction, then its visits and the progress in another."""
        settings = self.jobs.settings
        done = 0
        for batch in batches(lines, WRITE_BATCH_LINES):
            async with self.jobs.sessionmaker.begin() as session:
                written = await writer.write(session, batch)
            done += sum(len(group.lines) for group in batch)
            async with self.jobs.sessionmaker.begin() as session:
                if written.plan_ids:
                    generated = await generate(
                        session,
                        utcnow(),
                        zone=settings.zone,
                        horizon_days=settings.scheduling_horizon_days,
                        plan_ids=written.plan_ids,
                    )
                    outcome.visits_generated += generated.created
                await _set(session, self.job_id, done_lines=done)
            outcome.citizens += len(written.citizen_ids)
            outcome.plans += len(written.plan_ids)
            outcome.consents += written.consents

    async def finish(self, outcome: Outcome, lines: list[ImportLine]) -> Outcome:
        """Store the final state and report, and audit it, in one transaction."""
        names = {line.citizen.ref: line.citizen.name for line in lines if line.citizen is not None}
        report = report_of(outcome, self.request.dry_run, names)
        async with self.jobs.sessionmaker.begin() as session:
            await _set(
                session,
                self.job_id,
                state=outcome.state,
                citizens=outcome.citizens,
                plans=outcome.plans,
                visits_generated=outcome.visits_generated,
                done_lines=len(lines) if outcome.state is JobState.DONE else 0,
                report=report,
                finished_at=utcnow(),
            )
            self.audit(session, outcome, report)
        return outcome

    def audit(self, session: AsyncSession, outcome: Outcome, report: dict[str, Any]) -> None:
        """`import.run` for a file that passed, `import.rejected` for one that did not."""
        request = self.request
        detail: dict[str, Any] = {
            "format": request.fmt,
            "filename": request.filename,
            "dry_run": request.dry_run,
        }
        if outcome.state is JobState.REJECTED:
            detail |= {"bad_lines": outcome.bad_lines, "file_error": report["file_error"]}
            action = "import.rejected"
        else:
            detail |= {
                "lines": len(outcome.lines),
                "citizens": outcome.citizens,
                "plans": outcome.plans,
                "visits_generated": outcome.visits_generated,
                "consents": outcome.consents,
                "without_screen_consent": len(report["unreachable"]),
            }
            action = "import.run"
        subject = ("import_job", self.job_id)
        audit.record(session, action, actor=self.identity, subject=subject, detail=detail)

    async def set(self, **values: Any) -> None:
        """Update the job row in a transaction of its own."""
        async with self.jobs.sessionmaker.begin() as session:
            await _set(session, self.job_id, **values)

    async def fail(self, message: str) -> None:
        """Mark the job failed; a database that is away too only gets logged."""
        try:
            await asyncio.shield(
                self.set(state=JobState.FAILED, error=message, report=None, finished_at=utcnow())
            )
        except Exception:
            logger.exception("could not mark import job %s failed", self.job_id)


async def _set(session: AsyncSession, job_id: int, **values: Any) -> None:
    await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def fail_interrupted(sessionmaker: async_sessionmaker[AsyncSession], me: str) -> int:
    """Mark failed the unfinished jobs of a process on this host that is gone; how many."""
    async with sessionmaker.begin() as session:
        rows = await session.execute(
            select(ImportJob.id, ImportJob.report).where(ImportJob.state.in_(RUNNING))
        )
        doomed = [
            job_id for job_id, report in rows if owner_gone(str((report or {}).get("owner")), me)
        ]
        if doomed:
            await session.execute(
                update(ImportJob)
                .where(ImportJob.id.in_(doomed), ImportJob.state.in_(RUNNING))
                .values(state=JobState.FAILED, error=INTERRUPTED, report=None, finished_at=utcnow())
            )
    if doomed:
        logger.warning("marked %d import job(s) of a stopped server failed", len(doomed))
    return len(doomed)


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the planner reads it; `report` only once it is finished."""

    job: ImportJob
    staff_name: str | None

    @property
    def percent(self) -> int:
        """Lines written (or checked, for a dry run) as a whole percentage."""
        job = self.job
        if job.state == JobState.DONE:
            return 100
        return job.done_lines * 100 // job.total_lines if job.total_lines else 0

    @property
    def report(self) -> dict[str, Any] | None:
        """The finished job's report (while running, the row holds only its owner)."""
        return self.job.report if self.job.state not in RUNNING else None


def _views() -> Any:
    return select(ImportJob, Staff.display_name).outerjoin(Staff, Staff.id == ImportJob.staff_id)


async def get_job(session: AsyncSession, org_id: int, job_id: int) -> JobView | None:
    """One job of the organisation, or None (another organisation's job is not found)."""
    query = _views().where(ImportJob.id == job_id, ImportJob.organisation_id == org_id)
    row = (await session.execute(query)).first()
    return None if row is None else JobView(*row)


async def recent_jobs(
    session: AsyncSession, org_id: int, limit: int = RECENT_JOBS
) -> list[JobView]:
    """The organisation's latest jobs, newest first."""
    query = (
        _views()
        .where(ImportJob.organisation_id == org_id)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )
    return [JobView(*row) for row in await session.execute(query)]


import_jobs_key = web.AppKey("import_jobs_key", ImportJobs)


async def import_jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """Fail the jobs a previous run left unfinished; own this process's jobs until shutdown."""
    jobs = ImportJobs(app[settings_key], app[sessionmaker_key])
    try:
        await fail_interrupted(jobs.sessionmaker, jobs.owner)
    except (OSError, SQLAlchemyError):  # the server starts without its database (/readyz says so)
        logger.warning("could not check for interrupted import jobs", exc_info=True)
    app[import_jobs_key] = jobs
    yield
    await jobs.close()
