"""Import citizens and visit plans from a care-record export (CSV or JSON): all or nothing.

Both formats become the same lines. CSV has one row per plan, citizen columns repeated
(a row without `plan_ref` only describes the citizen):

    citizen_ref,name,preferred_name,team,contact_persons,plan_ref,visit_type,rrule,time,
    window_min,duration_min,channels,valid_from,valid_to

`contact_persons` is a `;`-list of usernames; `channels` is e.g. `mon=screen;tue=physical`.
JSON is `{"citizens": [{"ref", "name", "preferred_name", "team", "contact_persons": [...],
"plans": [{"ref", "visit_type", "rrule", "time", ...}]}]}`, and its lines are named like
`citizens[0].plans[1]`. Every line is checked before anything is written; one bad line
rejects the file. `ref`s are the care record's ids: importing again updates, never duplicates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Citizen, ContactPerson, ExternalRef, Staff, Team, VisitPlan, VisitType
from ..vocabulary import Channel
from .errors import Severity
from .plan_rules import overlapping_non_swappable, validate_plan
from .recurrence import PlanSpec
from .specs import WEEKDAY_NAMES, weekday_channels

MAX_LINES = 20_000


class PlanIn(BaseModel):
    """One plan line as exported."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1, max_length=64)
    visit_type: str = Field(min_length=1, max_length=32)
    rrule: str = Field(min_length=1, max_length=500)
    time: dt.time
    window_min: int = 15
    duration_min: int = 5
    channels: dict[str, Channel] = Field(default_factory=dict)
    default_channel: Channel = Channel.SCREEN
    valid_from: dt.date
    valid_to: dt.date | None = None


class CitizenIn(BaseModel):
    """One citizen as exported."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    preferred_name: str | None = Field(default=None, max_length=200)
    team: str = Field(min_length=1, max_length=200)
    contact_persons: list[str] = Field(default_factory=list, max_length=5)


@dataclass(frozen=True, slots=True)
class LineProblem:
    """Why one line cannot be imported."""

    code: str
    message: str


@dataclass(slots=True)
class ReportLine:
    """The validation result of one input line."""

    line: str
    citizen_ref: str | None = None
    plan_ref: str | None = None
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the line can be imported."""
        return not self.problems


@dataclass(slots=True)
class _Line:
    """A parsed line: the citizen it describes and maybe one plan."""

    report: ReportLine
    citizen: CitizenIn | None = None
    plan: PlanIn | None = None


@dataclass(slots=True)
class ImportResult:
    """The report, and what was written when every line was valid."""

    lines: list[ReportLine]
    citizens: list[int] = field(default_factory=list)
    plans: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every line was valid (and so the file was imported)."""
        return all(line.ok for line in self.lines)


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (not CSV/JSON, missing columns, too long)."""


def parse(content: str, fmt: str) -> list[_Line]:
    """Read a CSV or JSON export into lines, each validated on its own."""
    if fmt == "csv":
        return list(_csv_lines(content))
    if fmt == "json":
        return list(_json_lines(content))
    raise ImportFormatError(f"unknown format {fmt!r}; use csv or json")


_CSV_COLUMNS = ("citizen_ref", "name", "team")


def _csv_lines(content: str) -> Iterator[_Line]:
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFormatError(f"CSV is missing the columns {', '.join(missing)}")
    for number, row in enumerate(reader, start=2):
        if number > MAX_LINES:
            raise ImportFormatError(f"more than {MAX_LINES} lines")
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        citizen = {
            "ref": values.get("citizen_ref", ""),
            "name": values.get("name", ""),
            "preferred_name": values.get("preferred_name") or None,
            "team": values.get("team", ""),
            "contact_persons": _split(values.get("contact_persons", "")),
        }
        plan = None
        if values.get("plan_ref"):
            plan = {
                key: values[key]
                for key in ("visit_type", "rrule", "time", "window_min", "duration_min")
                if values.get(key)
            }
            plan |= {"ref": values["plan_ref"], "valid_from": values.get("valid_from", "")}
            plan["channels"] = _channels(values.get("channels", ""))
            if values.get("valid_to"):
                plan["valid_to"] = values["valid_to"]
        yield _validated(f"line {number}", citizen, plan)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _channels(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in _split(text))
    return {day.strip().lower(): channel.strip().lower() for day, _, channel in pairs}


def _json_lines(content: str) -> Iterator[_Line]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"not JSON: {exc}") from None
    citizens = data.get("citizens") if isinstance(data, dict) else None
    if not isinstance(citizens, list):
        raise ImportFormatError('JSON must be an object with a "citizens" list')
    for index, raw in enumerate(citizens):
        if not isinstance(raw, dict):
            raise ImportFormatError(f"citizens[{index}] is not an object")
        plans = raw.get("plans", [])
        citizen = {k: v for k, v in raw.items() if k != "plans"}
        yield _validated(f"citizens[{index}]", citizen, None)
        for number, plan in enumerate(plans if isinstance(plans, list) else [plans]):
            yield _validated(f"citizens[{index}].plans[{number}]", citizen, plan)


def _validated(where: str, citizen: Any, plan: Any) -> _Line:
    """Validate the shapes of one line, collecting problems instead of raising."""
    line = _Line(ReportLine(where))
    try:
        line.citizen = CitizenIn.model_validate(citizen)
        line.report.citizen_ref = line.citizen.ref
    except ValidationError as exc:
        line.report.problems += _problems(exc, "citizen")
    if plan is not None:
        try:
            line.plan = PlanIn.model_validate(plan)
            line.report.plan_ref = line.plan.ref
        except ValidationError as exc:
            line.report.problems += _problems(exc, "plan")
    return line


def _problems(exc: ValidationError, what: str) -> list[LineProblem]:
    return [
        LineProblem("invalid_field", f"{what} {'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
        for err in exc.errors(include_url=False, include_input=False)
    ]


@dataclass(frozen=True, slots=True)
class _Lookups:
    """The organisation's teams, visit types and staff by their names in the export."""

    teams: dict[str, int]
    types: dict[str, VisitType]
    staff: dict[str, int]
    zone: ZoneInfo  # the organisation's wall clock, in which plans recur


async def _lookups(session: AsyncSession, org_id: int, zone: ZoneInfo) -> _Lookups:
    teams = await session.execute(select(Team.name, Team.id).where(Team.organisation_id == org_id))
    types = await session.scalars(select(VisitType).where(VisitType.organisation_id == org_id))
    staff = await session.execute(
        select(Staff.username, Staff.id).where(Staff.organisation_id == org_id)
    )
    return _Lookups(
        {n: i for n, i in teams}, {t.code: t for t in types}, {n: i for n, i in staff}, zone
    )


def check(lines: list[_Line], found: _Lookups) -> None:
    """Cross-line and reference checks, added to each line's problems."""
    specs: dict[str, list[PlanSpec]] = {}
    for number, line in enumerate(lines):
        _check_refs(line, found)
        if line.plan is not None and line.citizen is not None and line.report.ok:
            spec = _spec(line.plan, number, found)
            line.report.problems += [
                LineProblem(p.code, p.message)
                for p in validate_plan(spec)
                if p.severity is Severity.ERROR
            ]
            specs.setdefault(line.citizen.ref, []).append(spec)
    _check_overlaps(lines, specs, found)


def _check_refs(line: _Line, found: _Lookups) -> None:
    problems = line.report.problems
    if line.citizen is not None:
        if line.citizen.team not in found.teams:
            problems.append(LineProblem("unknown_team", f"no team named {line.citizen.team!r}"))
        for username in line.citizen.contact_persons:
            if username not in found.staff:
                problems.append(LineProblem("unknown_staff", f"no staff member {username!r}"))
    if line.plan is not None:
        if line.plan.visit_type not in found.types:
            problems.append(
                LineProblem("unknown_visit_type", f"no visit type {line.plan.visit_type!r}")
            )
        bad_days = [day for day in line.plan.channels if day not in WEEKDAY_NAMES]
        if bad_days:
            problems.append(LineProblem("invalid_weekday", f"unknown weekdays {bad_days}"))


def _spec(plan: PlanIn, number: int, found: _Lookups) -> PlanSpec:
    return PlanSpec(
        plan_id=number,
        citizen_id=0,
        visit_type=plan.visit_type,
        rrule=plan.rrule,
        time_of_day=plan.time,
        window_min=plan.window_min,
        duration_min=plan.duration_min,
        zone=found.zone,
        valid_from=plan.valid_from,
        valid_to=plan.valid_to,
        channels=weekday_channels({k: v.value for k, v in plan.channels.items()}),
    )


def _check_overlaps(lines: list[_Line], specs: dict[str, list[PlanSpec]], found: _Lookups) -> None:
    """Two non-swappable plans of one citizen that may take place at the same time."""
    strict = frozenset(code for code, t in found.types.items() if t.non_swappable)
    for plans in specs.values():
        if len(plans) < 2:
            continue
        start = min(p.valid_from for p in plans)
        for clash in overlapping_non_swappable(plans, start, start + dt.timedelta(days=35), strict):
            lines[clash.second.key.plan_id].report.problems.append(
                LineProblem(
                    "overlapping_non_swappable",
                    f"{clash.second.visit_type} overlaps {clash.first.visit_type} "
                    f"on {clash.second.start.astimezone(found.zone):%Y-%m-%d %H:%M}",
                )
            )


async def import_lines(
    session: AsyncSession,
    org_id: int,
    lines: list[_Line],
    *,
    zone: ZoneInfo,
    dry_run: bool = False,
) -> ImportResult:
    """Check every line; write all of them only when every line is valid."""
    found = await _lookups(session, org_id, zone)
    check(lines, found)
    result = ImportResult([line.report for line in lines])
    if not result.ok or dry_run:
        return result
    citizens: dict[str, int] = {}
    for line in lines:
        assert line.citizen is not None
        if line.citizen.ref not in citizens:
            citizens[line.citizen.ref] = await _upsert_citizen(session, org_id, line.citizen, found)
        if line.plan is not None:
            plan_id = await _upsert_plan(session, org_id, citizens[line.citizen.ref], line, found)
            result.plans.append(plan_id)
    result.citizens = list(citizens.values())
    return result


async def _ref(session: AsyncSession, org_id: int, kind: str, external_id: str) -> int | None:
    return await session.scalar(
        select(ExternalRef.local_id).where(
            ExternalRef.organisation_id == org_id,
            ExternalRef.kind == kind,
            ExternalRef.external_id == external_id,
        )
    )


async def _upsert_citizen(
    session: AsyncSession, org_id: int, data: CitizenIn, found: _Lookups
) -> int:
    citizen_id = await _ref(session, org_id, "citizen", data.ref)
    citizen = None if citizen_id is None else await session.get(Citizen, citizen_id)
    if citizen is None:
        citizen = Citizen(organisation_id=org_id, team_id=found.teams[data.team], name=data.name)
        session.add(citizen)
        await session.flush()
        session.add(
            ExternalRef(
                organisation_id=org_id, kind="citizen", external_id=data.ref, local_id=citizen.id
            )
        )
    citizen.name, citizen.team_id = data.name, found.teams[data.team]
    citizen.preferred_name = data.preferred_name
    existing = set(
        await session.scalars(
            select(ContactPerson.staff_id).where(ContactPerson.citizen_id == citizen.id)
        )
    )
    for priority, username in enumerate(data.contact_persons, start=1):
        if found.staff[username] not in existing:
            session.add(
                ContactPerson(
                    citizen_id=citizen.id, staff_id=found.staff[username], priority=priority
                )
            )
    await session.flush()
    return citizen.id


async def _upsert_plan(
    session: AsyncSession, org_id: int, citizen_id: int, line: _Line, found: _Lookups
) -> int:
    assert line.plan is not None and line.citizen is not None
    data = line.plan
    plan_id = await _ref(session, org_id, "plan", data.ref)
    plan = None if plan_id is None else await session.get(VisitPlan, plan_id)
    values: dict[str, Any] = {
        "citizen_id": citizen_id,
        "visit_type_id": found.types[data.visit_type].id,
        "team_id": found.teams[line.citizen.team],
        "rrule": data.rrule,
        "local_time": data.time,
        "window_min": data.window_min,
        "duration_min": data.duration_min,
        "channel_by_weekday": {k: v.value for k, v in data.channels.items()},
        "default_channel": data.default_channel,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
    }
    if plan is None:
        plan = VisitPlan(**values)
        session.add(plan)
        await session.flush()
        session.add(
            ExternalRef(organisation_id=org_id, kind="plan", external_id=data.ref, local_id=plan.id)
        )
    else:
        for name, value in values.items():
            setattr(plan, name, value)
    await session.flush()
    return plan.id
