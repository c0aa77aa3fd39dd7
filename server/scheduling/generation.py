"""Materialise visits from plans over a rolling horizon: idempotent, and safe in several processes.

The rules:

* Each occurrence becomes one `visit` row keyed by (plan_id, occurrence_key); inserts skip keys
  that already exist, so running twice, or in two processes at once, gives the same rows.
* Occurrences whose window has already ended when they are first generated are not created
  (a plan made at 10:00 does not produce a missed 08:00 visit).
* A stored visit is *untouched* while it is planned, never attempted and its window has not
  begun. Only untouched visits follow plan edits: they are moved, switched or re-typed, and
  those the plan no longer produces are cancelled with a recorded outcome. Anything touched or
  documented never changes.
* A citizen's earliest generated visit is physical when the organisation's
  `first_visit_physical` setting is on (the default) and they have no earlier visit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import day_bounds, local_day
from ..models import Citizen, Organisation, Visit, VisitPlan, VisitStatus, VisitType
from ..visits import outcomes
from ..visits.assignment import report_unassigned
from ..visits.continuity import Continuity, load_continuity
from ..visits.status import Window, untouched
from ..vocabulary import Channel
from .errors import SchedulingError
from .joblock import hold_job_lock
from .occurrences import Occurrence, apply_first_visit_physical, occurrences
from .specs import LoadedPlan, load_plans, visit_types
from .visit_insert import Row, insert_visits

logger = logging.getLogger(__name__)

JOB_NAME = "generate"
PLAN_BATCH = 1000  # plans expanded, compared and written together (bounds memory)
CANCELLED_REASON = "Planen er ændret"


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What one generation run did."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    plans: int = 0
    failed_plans: tuple[int, ...] = ()

    def __add__(self, other: GenerationResult) -> GenerationResult:
        """Counts of two runs (or batches) together."""
        return GenerationResult(
            self.created + other.created,
            self.updated + other.updated,
            self.cancelled + other.cancelled,
            self.plans + other.plans,
            self.failed_plans + other.failed_plans,
        )


@dataclass(frozen=True, slots=True)
class _Stored:
    """The columns of a stored visit that reconciliation compares."""

    id: int
    status: VisitStatus
    attempts: int
    planned_at: dt.datetime
    window_min: int
    duration_min: int
    channel: Channel
    visit_type_id: int
    team_id: int

    def untouched(self, now: dt.datetime) -> bool:
        """Free to follow plan edits (see ``visits.status.untouched``)."""
        return untouched(self.status, self.attempts, Window(self.planned_at, self.window_min), now)


def horizon(now: dt.datetime, days: int, zone: ZoneInfo) -> tuple[dt.date, dt.date]:
    """The local dates a run covers: today and the next `days` days."""
    today = local_day(now, zone)
    return today, today + dt.timedelta(days=days)


async def generate(
    session: AsyncSession,
    now: dt.datetime,
    *,
    zone: ZoneInfo,
    horizon_days: int = 14,
    plan_ids: Collection[int] | None = None,
    citizen_ids: Collection[int] | None = None,
) -> GenerationResult:
    """Bring the visits of all (or the given) plans in line with the plans; see the module rules.

    Days and plans are in ``zone``, the organisation's wall clock (``Settings.zone``).
    """
    await hold_job_lock(session, JOB_NAME, now)
    start, end = horizon(now, horizon_days, zone)
    loaded = await load_plans(
        session, start=start, zone=zone, plan_ids=plan_ids, citizen_ids=citizen_ids
    )
    everything = plan_ids is None and citizen_ids is None
    citizens = sorted({lp.row.citizen_id for lp in loaded})
    run = _Run(
        now=now,
        start=start,
        end=end,
        zone=zone,
        types={t.code: t for t in (await visit_types(session)).values()},
        continuity=await load_continuity(session, now, None if everything else citizens),
        seasoned=await _seasoned_citizens(session, loaded, start, zone, partial=not everything),
    )
    total = GenerationResult(plans=len(loaded))
    batches = list(_batches(loaded))
    # Expansion is pure CPU work: in a thread, so a big run (an import) never holds the loop.
    first = await asyncio.to_thread(_expand_batch, batches[0], run) if batches else None
    expanded = first or _Expanded([], [])
    for index, batch in enumerate(batches):
        following = batches[index + 1] if index + 1 < len(batches) else []
        result, expanded = await _generate_batch(session, run, batch, expanded, following)
        total = total + result
    if everything:
        ended = await _cancel_ended_plans(session, start, now)
        total = total + GenerationResult(cancelled=ended)
    return total


@dataclass(slots=True)
class _Run:
    """What every batch of one run shares."""

    now: dt.datetime
    start: dt.date
    end: dt.date
    zone: ZoneInfo
    types: dict[str, VisitType]
    continuity: Continuity
    seasoned: set[int]  # citizens exempt from the first-visit-physical rule
    staff_memo: dict[tuple[int, int, str], int | None] = field(default_factory=dict)

    def staff_for(self, citizen_id: int, team_id: int, vtype: VisitType) -> int | None:
        """The continuity choice, computed once per citizen, team and visit type per run."""
        memo_key = (citizen_id, team_id, vtype.code)
        if memo_key not in self.staff_memo:
            roles = vtype.qualified_roles
            self.staff_memo[memo_key] = self.continuity.choose(citizen_id, team_id, roles)
        return self.staff_memo[memo_key]


def _batches(loaded: Sequence[LoadedPlan]) -> Iterator[list[LoadedPlan]]:
    """Plans in batches of about PLAN_BATCH, never splitting one citizen's plans."""
    ordered = sorted(loaded, key=lambda lp: (lp.row.citizen_id, lp.row.id))
    batch: list[LoadedPlan] = []
    for plan in ordered:
        if len(batch) >= PLAN_BATCH and batch[-1].row.citizen_id != plan.row.citizen_id:
            yield batch
            batch = []
        batch.append(plan)
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class _Expanded:
    """A batch's occurrences with their key texts, and the plans that failed to expand."""

    keyed: list[tuple[Occurrence, str]]
    failed: list[int]


def _expand_batch(batch: Sequence[LoadedPlan], run: _Run) -> _Expanded:
    """Pure and thread-safe: occurrences of a batch, first-visit rule applied, keys rendered."""
    found, failed = _expand(batch, run.start, run.end)
    found = _first_visits_physical(batch, found, run.seasoned)
    return _Expanded([(occ, occ.key.as_text()) for occ in found], failed)


async def _generate_batch(
    session: AsyncSession,
    run: _Run,
    batch: Sequence[LoadedPlan],
    expanded: _Expanded,
    following: Sequence[LoadedPlan],
) -> tuple[GenerationResult, _Expanded]:
    """Update, cancel and insert one batch (bounded memory); also expands the next batch.

    The next batch is expanded in a worker thread while the database inserts this one, so
    the Python work and the database work of a large run overlap instead of taking turns.
    """
    keyed, failed = expanded.keyed, expanded.failed
    stored = await _stored(session, [lp.row.id for lp in batch], run.start, run.zone)
    plans = {lp.row.id: lp.row for lp in batch}
    updated = await _update(session, keyed, stored, run.types, plans, run.now)
    updated += await _revive(session, keyed, stored, run.now)
    keep = {(occ.key.plan_id, key) for occ, key in keyed}
    cancelled = await _cancel(session, stored, keep, failed, run)
    rows = _new_rows(keyed, stored, plans, run)
    result = GenerationResult(0, updated, cancelled, 0, tuple(failed))
    if not following:  # the last (often the only) batch: no thread needed
        created, next_expanded = await insert_visits(session, rows), _Expanded([], [])
    else:
        created, next_expanded = await asyncio.gather(
            insert_visits(session, rows), asyncio.to_thread(_expand_batch, following, run)
        )
    # Nobody suitable for a new visit: the team's inbox says so (one item per visit).
    unassigned = [(row[0], row[1]) for row in rows if row[5] is None]
    await report_unassigned(session, unassigned, run.now, run.zone)
    return result + GenerationResult(created=created), next_expanded


def _expand(
    loaded: Sequence[LoadedPlan], start: dt.date, end: dt.date
) -> tuple[list[Occurrence], list[int]]:
    """Every plan's occurrences; a broken plan is logged and skipped, never stops the run."""
    found: list[Occurrence] = []
    failed: list[int] = []
    for plan in loaded:
        try:
            found.extend(occurrences(plan.spec, start, end))
        except (SchedulingError, ValueError, KeyError) as exc:
            logger.warning("visit plan %s not generated: %s", plan.row.id, exc)
            failed.append(plan.row.id)
    return found, failed


async def _seasoned_citizens(
    session: AsyncSession,
    loaded: Sequence[LoadedPlan],
    start: dt.date,
    zone: ZoneInfo,
    *,
    partial: bool,
) -> set[int]:
    """Citizens exempt from the first-visit-physical rule: the organisation turned it off, or
    they had a visit before `start` (or, when only some plans run, a visit of another plan)."""
    citizens = {lp.spec.citizen_id for lp in loaded}
    if not citizens:
        return set()
    begin, _ = day_bounds(start, zone)
    earlier = Visit.planned_at < begin
    if partial:
        ids = [lp.row.id for lp in loaded]
        earlier = or_(earlier, Visit.plan_id.is_(None), Visit.plan_id.not_in(ids))
    prior_q = select(Visit.citizen_id).where(earlier).distinct()
    if len(citizens) < 1000:
        prior_q = prior_q.where(Visit.citizen_id.in_(citizens))
    prior = set(await session.scalars(prior_q))
    off = await _orgs_without_first_physical(session)
    return prior | await _citizens_of_orgs(session, off)


def _first_visits_physical(
    batch: Sequence[LoadedPlan], found: list[Occurrence], seasoned: set[int]
) -> list[Occurrence]:
    """Apply the first-visit-physical rule to the batch's citizens without an earlier visit."""
    by_citizen: defaultdict[int, list[Occurrence]] = defaultdict(list)
    citizen_of = {lp.row.id: lp.spec.citizen_id for lp in batch}
    for occ in found:
        by_citizen[citizen_of[occ.key.plan_id]].append(occ)
    result: list[Occurrence] = []
    for citizen_id, occs in by_citizen.items():
        result += apply_first_visit_physical(occs, citizen_id in seasoned)
    return result


async def _orgs_without_first_physical(session: AsyncSession) -> set[int]:
    """Organisations whose settings switch the first-visit-physical rule off."""
    rows = await session.execute(select(Organisation.id, Organisation.settings))
    return {org_id for org_id, s in rows if (s or {}).get("first_visit_physical") is False}


async def _citizens_of_orgs(session: AsyncSession, orgs: set[int]) -> set[int]:
    """Citizens of the given organisations."""
    if not orgs:
        return set()
    return set(await session.scalars(select(Citizen.id).where(Citizen.organisation_id.in_(orgs))))


async def _stored(
    session: AsyncSession, plan_ids: Sequence[int], start: dt.date, zone: ZoneInfo
) -> dict[tuple[int, str], _Stored]:
    """Stored visits of the plans from the day before `start` on, by (plan, key)."""
    since, _ = day_bounds(start - dt.timedelta(days=1), zone)
    query = select(
        Visit.plan_id,
        Visit.occurrence_key,
        Visit.id,
        Visit.status,
        Visit.attempts,
        Visit.planned_at,
        Visit.window_min,
        Visit.duration_min,
        Visit.channel,
        Visit.visit_type_id,
        Visit.team_id,
    ).where(Visit.plan_id.in_(plan_ids), Visit.planned_at >= since)
    result = {}
    for plan_id, key, *rest in await session.execute(query):
        if plan_id is not None and key is not None:
            result[(plan_id, key)] = _Stored(*rest)
    return result


def _new_rows(
    keyed: Iterable[tuple[Occurrence, str]],
    stored: dict[tuple[int, str], _Stored],
    plans: dict[int, VisitPlan],
    run: _Run,
) -> list[Row]:
    """Insert values (plain tuples, no ORM objects) for new occurrences whose window is open."""
    rows: list[Row] = []
    # Plain (id, citizen, team) per plan: ORM attribute access per row adds up at scale.
    owners = {plan_id: (p.citizen_id, p.team_id) for plan_id, p in plans.items()}
    for occ, key in keyed:
        plan_id = occ.key.plan_id
        if (plan_id, key) in stored:
            continue
        if occ.window.has_ended(run.now):
            continue
        (citizen_id, team_id), vtype = owners[plan_id], run.types[occ.visit_type]
        staff = run.staff_for(citizen_id, team_id, vtype)
        rows.append(
            (
                plan_id, key, citizen_id, vtype.id, team_id, staff, occ.start,
                occ.window_min, occ.duration_min, occ.channel.value,
            )
        )  # fmt: skip
    return rows


async def _update(
    session: AsyncSession,
    keyed: Iterable[tuple[Occurrence, str]],
    stored: dict[tuple[int, str], _Stored],
    types: dict[str, VisitType],
    plans: dict[int, VisitPlan],
    now: dt.datetime,
) -> int:
    """Make untouched future visits follow their occurrence; the number changed."""
    updated = 0
    for occ, key in keyed:
        old = stored.get((occ.key.plan_id, key))
        if old is None or not old.untouched(now):
            continue
        values = {
            "planned_at": occ.start,
            "window_min": occ.window_min,
            "duration_min": occ.duration_min,
            "channel": occ.channel,
            "visit_type_id": types[occ.visit_type].id,
            "team_id": plans[occ.key.plan_id].team_id,
        }
        current = {name: getattr(old, name) for name in values}
        if current == values:
            continue
        await session.execute(
            update(Visit)
            .where(Visit.id == old.id, Visit.status == VisitStatus.PLANNED, Visit.attempts == 0)
            .values(**values)
        )
        updated += 1
    return updated


async def _revive(
    session: AsyncSession,
    keyed: Iterable[tuple[Occurrence, str]],
    stored: dict[tuple[int, str], _Stored],
    now: dt.datetime,
) -> int:
    """Plan again the future visits that only a plan edit cancelled (a pause or a cancel undone).

    A visit cancelled by staff, or one that was ever attempted, stays cancelled. The
    generator's own cancellation outcome is removed: the plan edit itself is in the audit log.
    """
    candidates = {
        old.id: occ
        for occ, key in keyed
        if (old := stored.get((occ.key.plan_id, key))) is not None
        and old.status == VisitStatus.CANCELLED
        and old.attempts == 0
        and not occ.window.has_begun(now)
    }
    revived = 0
    for visit_id in await outcomes.plan_cancellations(session, candidates, CANCELLED_REASON):
        occ = candidates[visit_id]
        revived += await outcomes.undo_plan_cancellation(
            session,
            visit_id,
            planned_at=occ.start,
            window_min=occ.window_min,
            duration_min=occ.duration_min,
            channel=occ.channel,
        )
    return revived


async def _cancel(
    session: AsyncSession,
    stored: dict[tuple[int, str], _Stored],
    keep: set[tuple[int, str]],
    failed: Sequence[int],
    run: _Run,
) -> int:
    """Cancel untouched visits in the horizon that the plans no longer produce."""
    doomed = [
        old.id
        for (plan_id, key), old in stored.items()
        if (plan_id, key) not in keep
        and plan_id not in failed
        and old.untouched(run.now)
        and run.start <= local_day(old.planned_at, run.zone) <= run.end
    ]
    return await outcomes.cancel_planned(session, doomed, CANCELLED_REASON, run.now)


async def _cancel_ended_plans(session: AsyncSession, start: dt.date, now: dt.datetime) -> int:
    """Cancel untouched visits of plans that ended before the horizon starts."""
    ended = select(VisitPlan.id).where(VisitPlan.valid_to < start)
    rows = await session.execute(
        select(Visit.id, Visit.planned_at, Visit.window_min).where(
            Visit.plan_id.in_(ended),
            Visit.status == VisitStatus.PLANNED,
            Visit.attempts == 0,
            Visit.planned_at > now,
        )
    )
    doomed = [i for i, at, w in rows if not Window(at, w).has_begun(now)]
    return await outcomes.cancel_planned(session, doomed, CANCELLED_REASON, now)
