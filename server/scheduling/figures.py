"""Key figures per team and ISO week (local dates), read from visits, calls and alerts.

Definitions (one week = the visits planned Monday to Sunday, cancelled visits left out):

* on-time rate: of the visits with at least one call, the share whose first call started
  within the window (planned time ± window);
* answer rate: of the calls made for the week's visits, the share that were answered (a ring
  refused before it reached the tablet, offline or busy, is no call made: left out everywhere);
* missed: visits that ended missed; escalated: visits the team was alerted about as missed;
* continuity: distinct staff per citizen over the 14 days ending on the week's Sunday,
  averaged over the citizens with a completed visit then (lower is better). Who made a visit
  is the caller of its first answered call, else the staff member it was assigned to;
* continuity breaks: visits given to someone outside the citizen's team and contact persons
  (confirmed by whoever assigned them), and their share of the week's visits;
* screen share: of the completed visits, the share done by screen;
* median call length: of the answered calls that have ended, in seconds.

The numbers are computed in Python from three narrow queries, so they are the same on SQLite
and PostgreSQL; a team's weeks are tens of thousands of rows at most.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import day_bounds, local_day
from ..models import Call, InboxItem, Visit
from ..visits.status import Window, on_time
from ..vocabulary import Channel, EndReason, InboxKind, VisitStatus

NEVER_RANG = (EndReason.OFFLINE.value, EndReason.BUSY.value)

CONTINUITY_DAYS = 14
MAX_WEEKS = 52


@dataclass(frozen=True, slots=True)
class VisitFact:
    """The columns of a visit the figures need."""

    id: int
    citizen_id: int
    team_id: int
    planned_at: dt.datetime
    window_min: int
    channel: Channel
    status: VisitStatus
    assigned_staff_id: int | None
    day: dt.date  # the local date it was planned on
    continuity_break: bool = False

    @property
    def window(self) -> Window:
        """The visit's window."""
        return Window(self.planned_at, self.window_min)


@dataclass(frozen=True, slots=True)
class CallFact:
    """The columns of a call the figures need."""

    visit_id: int
    ring_started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    caller_staff_id: int | None


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One team's figures for one ISO week; a rate is None when nothing was there to count."""

    team_id: int
    week: str  # e.g. "2026-W47"
    starts: dt.date
    visits: int
    calls: int
    on_time_rate: float | None
    answer_rate: float | None
    missed: int
    escalated: int
    continuity: float | None
    screen_share: float | None
    median_call_s: float | None
    continuity_breaks: int = 0
    continuity_break_share: float | None = None


def week_starts(today: dt.date, weeks: int) -> list[dt.date]:
    """The Mondays of the last `weeks` ISO weeks, oldest first, ending with today's week."""
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=n) for n in reversed(range(weeks))]


def week_label(monday: dt.date) -> str:
    """ISO week label, e.g. "2026-W47"."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _made_by(visit: VisitFact, calls: Sequence[CallFact]) -> int | None:
    """Who made a completed visit: the caller of its first answered call, else the assignee."""
    answered = [c for c in calls if c.answered_at is not None and c.caller_staff_id is not None]
    return answered[0].caller_staff_id if answered else visit.assigned_staff_id


def continuity(
    visits: Iterable[VisitFact], calls: Mapping[int, Sequence[CallFact]], last_day: dt.date
) -> float | None:
    """Mean distinct staff per citizen over the 14 days ending `last_day` (completed visits)."""
    first_day = last_day - dt.timedelta(days=CONTINUITY_DAYS - 1)
    faces: defaultdict[int, set[int]] = defaultdict(set)
    for visit in visits:
        if visit.status != VisitStatus.DONE:
            continue
        if not first_day <= visit.day <= last_day:
            continue
        staff = _made_by(visit, calls.get(visit.id, ()))
        faces[visit.citizen_id] |= set() if staff is None else {staff}
    counted = [len(staff) for staff in faces.values() if staff]
    return None if not counted else round(statistics.fmean(counted), 2)


def week_figures(
    team_id: int,
    monday: dt.date,
    visits: Sequence[VisitFact],
    calls: Mapping[int, Sequence[CallFact]],
    escalated: Collection[int],
) -> WeekFigures:
    """One team's figures for the week starting `monday`; `visits` may span more days."""
    sunday = monday + dt.timedelta(days=6)
    week = [v for v in visits if monday <= v.day <= sunday]
    called = [v for v in week if calls.get(v.id)]
    week_calls = [c for v in week for c in calls.get(v.id, ())]
    done = [v for v in week if v.status == VisitStatus.DONE]
    lengths = [
        (c.ended_at - c.answered_at).total_seconds()
        for c in week_calls
        if c.answered_at is not None and c.ended_at is not None
    ]
    return WeekFigures(
        team_id=team_id,
        week=week_label(monday),
        starts=monday,
        visits=len(week),
        calls=len(week_calls),
        on_time_rate=_rate(
            sum(on_time(v.window, calls[v.id][0].ring_started_at) for v in called), len(called)
        ),
        answer_rate=_rate(sum(c.answered_at is not None for c in week_calls), len(week_calls)),
        missed=sum(v.status == VisitStatus.MISSED for v in week),
        escalated=sum(v.id in escalated for v in week),
        continuity=continuity(visits, calls, sunday),
        screen_share=_rate(sum(v.channel == Channel.SCREEN for v in done), len(done)),
        median_call_s=None if not lengths else round(statistics.median(lengths), 1),
        continuity_breaks=sum(v.continuity_break for v in week),
        continuity_break_share=_rate(sum(v.continuity_break for v in week), len(week)),
    )


async def team_figures(
    session: AsyncSession, team_ids: Sequence[int], today: dt.date, weeks: int, zone: ZoneInfo
) -> dict[int, list[WeekFigures]]:
    """Figures for each team, one entry per week (oldest first), ending with today's week."""
    mondays = week_starts(today, min(max(weeks, 1), MAX_WEEKS))
    since = mondays[0] - dt.timedelta(days=CONTINUITY_DAYS)
    span = _Span(team_ids, since, mondays[-1] + dt.timedelta(days=7), zone)
    visits = await _visits(session, span)
    calls = await _calls(session, span)
    escalated = await _escalated(session, span)
    by_team: defaultdict[int, list[VisitFact]] = defaultdict(list)
    for visit in visits:
        by_team[visit.team_id].append(visit)
    return {
        team: [week_figures(team, m, by_team[team], calls, escalated) for m in mondays]
        for team in team_ids
    }


@dataclass(frozen=True, slots=True)
class _Span:
    """The teams and local dates since..until (exclusive) the figures read."""

    team_ids: Sequence[int]
    since: dt.date
    until: dt.date
    zone: ZoneInfo

    def conditions(self) -> list[ColumnElement[bool]]:
        """The teams' visits planned in the span, not cancelled."""
        start, _ = day_bounds(self.since, self.zone)
        end, _ = day_bounds(self.until, self.zone)
        return [
            Visit.team_id.in_(self.team_ids),
            Visit.planned_at >= start,
            Visit.planned_at < end,
            Visit.status != VisitStatus.CANCELLED,
        ]


async def _visits(session: AsyncSession, span: _Span) -> list[VisitFact]:
    rows = await session.execute(
        select(
            Visit.id,
            Visit.citizen_id,
            Visit.team_id,
            Visit.planned_at,
            Visit.window_min,
            Visit.channel,
            Visit.status,
            Visit.assigned_staff_id,
            Visit.continuity_break,
        ).where(*span.conditions())
    )
    return [
        VisitFact(*row[:8], day=local_day(row.planned_at, span.zone), continuity_break=row[8])
        for row in rows
    ]


async def _calls(session: AsyncSession, span: _Span) -> dict[int, list[CallFact]]:
    """Calls of the visits, by visit, in the order they rang."""
    rows = await session.execute(
        select(
            Call.visit_id,
            Call.ring_started_at,
            Call.answered_at,
            Call.ended_at,
            Call.caller_staff_id,
        )  # fmt: skip
        .join(Visit, Visit.id == Call.visit_id)
        .where(*span.conditions())
        .where(or_(Call.end_reason.is_(None), Call.end_reason.not_in(NEVER_RANG)))
        .order_by(Call.ring_started_at, Call.id)
    )
    result: defaultdict[int, list[CallFact]] = defaultdict(list)
    for visit_id, rang, answered, ended, caller in rows:
        if visit_id is not None:
            result[visit_id].append(CallFact(visit_id, rang, answered, ended, caller))
    return dict(result)


async def _escalated(session: AsyncSession, span: _Span) -> set[int]:
    """Visits the team was alerted about as missed."""
    rows = await session.scalars(
        select(InboxItem.visit_id)
        .join(Visit, Visit.id == InboxItem.visit_id)
        .where(InboxItem.kind == InboxKind.MISSED_VISIT, *span.conditions())
        .distinct()
    )
    return {visit_id for visit_id in rows if visit_id is not None}
