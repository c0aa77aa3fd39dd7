"""Import citizens and visit plans from a care-record export (CSV or JSON): the pure core.

Both formats become the same lines. CSV has one row per plan, citizen columns repeated
(a row without `plan_ref` only describes the citizen):

    citizen_ref,name,preferred_name,team,contact_persons,consents,consent_given_by,
    plan_ref,visit_type,rrule,time,window_min,duration_min,channels,valid_from,valid_to

`contact_persons` is a `;`-list of usernames; `channels` is e.g. `mon=screen;tue=physical`;
`consents` is a `;`-list of `screen_visits` / `auto_answer`, given by `consent_given_by`.
JSON is `{"citizens": [{"ref", "name", "preferred_name", "team", "contact_persons": [...],
"consents": [...], "consent_given_by", "plans": [{"ref", "visit_type", "rrule", "time", ...}]}]}`,
and its lines are named like `citizens[0].plans[1]`. Every line is checked before anything is
written; one bad line rejects the file. `ref`s are the care record's ids: importing again
updates, never duplicates.

Everything here is pure and CPU-bound (no database, no clock): the job runner calls `parse`
and `check` in a worker thread. Every problem a line can have, including rules that only fail
when visits are generated, becomes a `LineProblem` with a stable code, never an exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from ..translatable import N_
from ..vocabulary import Channel
from .errors import SchedulingError, Severity
from .occurrences import occurrences
from .plan_rules import overlapping_non_swappable, validate_plan
from .recurrence import PlanSpec
from .specs import WEEKDAY_NAMES, weekday_channels

MAX_LINES = 20_000
# Plans recur from valid_from; a date outside these years is a typing error, and dates near
# the end of the calendar overflow when a year of visits is expanded from them.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
IMPORTABLE_CONSENTS = ("screen_visits", "auto_answer")
# Errors the recurrence code may raise on a rule or date it cannot expand.
_EXPANSION_ERRORS = (SchedulingError, ValueError, OverflowError, KeyError)


def _plain_text(value: str) -> str:
    """Refuse NUL and other control characters (PostgreSQL refuses NUL in text)."""
    if any(ord(char) < 32 and char not in "\t" for char in value):
        raise PydanticCustomError("invalid_characters", "contains a NUL or control character")
    return value


def _in_range(value: dt.date) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range", f"must be from {EARLIEST_DATE} to {LATEST_DATE}"
        )
    return value


def _wall_clock(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise PydanticCustomError("invalid_field", "a wall-clock time without a time zone")
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
PlanDate = Annotated[dt.date, AfterValidator(_in_range)]
WallClock = Annotated[dt.time, AfterValidator(_wall_clock)]


class PlanIn(BaseModel):
    """One plan line as exported."""

    model_config = ConfigDict(extra="forbid")
    ref: Text = Field(min_length=1, max_length=64)
    visit_type: Text = Field(min_length=1, max_length=32)
    rrule: Text = Field(min_length=1, max_length=500)
    time: WallClock
    window_min: int = 15
    duration_min: int = 5
    channels: dict[Text, Channel] = Field(default_factory=dict)
    default_channel: Channel = Channel.SCREEN
    valid_from: PlanDate
    valid_to: PlanDate | None = None


class CitizenIn(BaseModel):
    """One citizen as exported."""

    model_config = ConfigDict(extra="forbid")
    ref: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=200)
    preferred_name: Text | None = Field(default=None, max_length=200)
    team: Text = Field(min_length=1, max_length=200)
    contact_persons: list[Text] = Field(default_factory=list, max_length=5)
    consents: list[Literal["screen_visits", "auto_answer"]] = Field(
        default_factory=list, max_length=2
    )
    consent_given_by: Text | None = Field(default=None, max_length=200)


@dataclass(frozen=True, slots=True)
class LineProblem:
    """Why one line cannot be imported (or, as a warning, what the planner should know)."""

    code: str
    message: str


@dataclass(slots=True)
class ReportLine:
    """The validation result of one input line."""

    line: str
    citizen_ref: str | None = None
    plan_ref: str | None = None
    problems: list[LineProblem] = field(default_factory=list)
    warnings: list[LineProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the line can be imported (warnings do not stop it)."""
        return not self.problems


@dataclass(slots=True)
class ImportLine:
    """A parsed line: the citizen it describes and maybe one plan."""

    report: ReportLine
    citizen: CitizenIn | None = None
    plan: PlanIn | None = None


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (not CSV/JSON, missing columns, too long)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode(raw: bytes) -> str:
    """The file's text: UTF-8, with or without a byte-order mark."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = N_("filen er ikke UTF-8-tekst (byte {byte})", byte=exc.start)
        raise ImportFormatError("not_utf8", message) from None


def parse(content: str, fmt: str) -> list[ImportLine]:
    """Read a CSV or JSON export into lines, each validated on its own."""
    if fmt == "csv":
        return list(_csv_lines(content))
    if fmt == "json":
        return list(_json_lines(content))
    raise ImportFormatError(
        "unknown_format", N_("ukendt format {fmt}; brug csv eller json", fmt=fmt)
    )


_CSV_COLUMNS = ("citizen_ref", "name", "team")
_CSV_PLAN_FIELDS = ("visit_type", "rrule", "time", "window_min", "duration_min")


def _csv_lines(content: str) -> Iterator[ImportLine]:
    # The csv module refuses NUL; drop them for reading and name the rows that had one.
    nul_lines = {n for n, text in enumerate(content.splitlines(), start=1) if "\x00" in text}
    reader = csv.DictReader(io.StringIO(content.replace("\x00", "")))
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        message = N_("CSV-filen mangler kolonnerne {columns}", columns=", ".join(missing))
        raise ImportFormatError("missing_columns", message)
    last = reader.line_num
    try:
        for number, row in enumerate(reader, start=2):
            if number > MAX_LINES:
                raise ImportFormatError("too_many_lines", N_("mere end {n} linjer", n=MAX_LINES))
            line = _csv_row(number, row)
            if nul_lines & set(range(last + 1, reader.line_num + 1)):
                problem = LineProblem("invalid_characters", N_("linjen indeholder et NUL-tegn"))
                line.report.problems.append(problem)
            last = reader.line_num
            yield line
    except csv.Error as exc:
        raise ImportFormatError(
            "unreadable_csv", N_("linje {line}: {error}", line=reader.line_num, error=str(exc))
        ) from None


def _csv_row(number: int, row: dict[str | Any, str | Any]) -> ImportLine:
    if None in row:  # more cells than the header names
        return _problem_line(
            f"line {number}", "extra_cells", "the line has more cells than the header"
        )
    values = {k: (v or "").strip() for k, v in row.items()}
    citizen: dict[str, Any] = {
        "ref": values.get("citizen_ref", ""),
        "name": values.get("name", ""),
        "preferred_name": values.get("preferred_name") or None,
        "team": values.get("team", ""),
        "contact_persons": _split(values.get("contact_persons", "")),
        "consents": _split(values.get("consents", "")),
        "consent_given_by": values.get("consent_given_by") or None,
    }
    plan = None
    if values.get("plan_ref"):
        plan = {key: values[key] for key in _CSV_PLAN_FIELDS if values.get(key)}
        plan |= {"ref": values["plan_ref"], "valid_from": values.get("valid_from", "")}
        plan["channels"] = _channels(values.get("channels", ""))
        if values.get("valid_to"):
            plan["valid_to"] = values["valid_to"]
    return _validated(f"line {number}", citizen, plan)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _channels(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in _split(text))
    return {day.strip().lower(): channel.strip().lower() for day, _, channel in pairs}


def _json_lines(content: str) -> Iterator[ImportLine]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ImportFormatError("not_json", N_("ikke JSON: {error}", error=str(exc))) from None
    except RecursionError:
        raise ImportFormatError("not_json", N_("ikke JSON: for dybt indlejret")) from None
    citizens = data.get("citizens") if isinstance(data, dict) else None
    if not isinstance(citizens, list):
        raise ImportFormatError("not_json", N_('JSON skal være et objekt med en "citizens"-liste'))
    if len(citizens) > MAX_LINES:
        raise ImportFormatError("too_many_lines", N_("mere end {n} borgere", n=MAX_LINES))
    for index, raw in enumerate(citizens):
        where = f"citizens[{index}]"
        if not isinstance(raw, dict):
            yield _problem_line(where, "not_an_object", "a citizen must be a JSON object")
            continue
        plans = raw.get("plans", [])
        citizen = {k: v for k, v in raw.items() if k != "plans"}
        yield _validated(where, citizen, None)
        if not isinstance(plans, list):
            yield _problem_line(f"{where}.plans", "not_a_list", '"plans" must be a list')
            continue
        for number, plan in enumerate(plans):
            yield _validated(f"{where}.plans[{number}]", citizen, plan)


def _problem_line(where: str, code: str, message: str) -> ImportLine:
    return ImportLine(ReportLine(where, problems=[LineProblem(code, message)]))


def _validated(where: str, citizen: Any, plan: Any) -> ImportLine:
    """Validate the shapes of one line, collecting problems instead of raising."""
    line = ImportLine(ReportLine(where))
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


_OWN_CODES = frozenset({"invalid_characters", "date_out_of_range"})


def _problems(exc: ValidationError, what: str) -> list[LineProblem]:
    return [
        LineProblem(
            err["type"] if err["type"] in _OWN_CODES else "invalid_field",
            f"{what} {'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
        )
        for err in exc.errors(include_url=False, include_input=False)
    ]


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A visit type as the checks need it."""

    id: int
    non_swappable: bool


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the checks need from the database, as plain values (safe in a worker thread)."""

    teams: dict[str, int]  # name → id
    types: dict[str, TypeInfo]  # code → type
    staff: dict[str, int]  # username → id
    zone: ZoneInfo  # the organisation's wall clock, in which plans recur
    horizon: tuple[dt.date, dt.date]  # the local days visits are generated for
    plan_types: dict[str, str] = field(default_factory=dict)  # existing plan ref → type code
    screen_consent: frozenset[str] = frozenset()  # citizen refs with a screen-visit consent


def check(lines: list[ImportLine], found: Lookups) -> None:
    """Cross-line and reference checks, added to each line's problems and warnings."""
    specs: dict[str, list[PlanSpec]] = {}
    seen_plans: set[str] = set()
    # Validation is a function of the rule, times and dates alone, and exports repeat them
    # (thousands of "FREQ=DAILY at 08:00 from 1 January"): each distinct one is judged once.
    judged: dict[tuple[object, ...], list[LineProblem]] = {}
    for number, line in enumerate(lines):
        _check_refs(line, found)
        _check_duplicate(line, seen_plans)
        if line.plan is not None and line.citizen is not None and line.report.ok:
            spec = _spec(line.plan, number, found)
            key = _judged_key(line.plan)
            if key not in judged:
                judged[key] = _plan_problems(spec, found)
            line.report.problems += judged[key]
            if line.report.ok:
                specs.setdefault(line.citizen.ref, []).append(spec)
    _check_overlaps(lines, specs, found)
    _check_consents(lines, found)


def _check_refs(line: ImportLine, found: Lookups) -> None:
    problems = line.report.problems
    if line.citizen is not None:
        if line.citizen.team not in found.teams:
            problems.append(
                LineProblem(
                    "unknown_team", N_("intet team ved navn {team}", team=line.citizen.team)
                )
            )
        for username in line.citizen.contact_persons:
            if username not in found.staff:
                problems.append(
                    LineProblem(
                        "unknown_staff", N_("ingen medarbejder {username}", username=username)
                    )
                )
        if line.citizen.consents and not line.citizen.consent_given_by:
            message = N_("samtykker kræver consent_given_by: hvem gav dem")
            problems.append(LineProblem("consent_given_by_missing", message))
    if line.plan is not None:
        _check_plan_refs(line.plan, found, problems)


def _check_plan_refs(plan: PlanIn, found: Lookups, problems: list[LineProblem]) -> None:
    new_type = found.types.get(plan.visit_type)
    if new_type is None:
        problems.append(
            LineProblem("unknown_visit_type", N_("ingen besøgstype {code}", code=plan.visit_type))
        )
    bad_days = [day for day in plan.channels if day not in WEEKDAY_NAMES]
    if bad_days:
        problems.append(
            LineProblem("invalid_weekday", N_("ukendte ugedage: {days}", days=", ".join(bad_days)))
        )
    old_code = found.plan_types.get(plan.ref)
    old_type = found.types.get(old_code) if old_code is not None else None
    if old_code is None or old_code == plan.visit_type:
        return
    if (old_type is not None and old_type.non_swappable) or (
        new_type is not None and new_type.non_swappable
    ):
        message = N_(
            "plan {ref} er {old}, ikke {new}: en medicinplan skifter ikke type; afslut den, "
            "og opret en ny",
            ref=plan.ref,
            old=old_code,
            new=plan.visit_type,
        )
        problems.append(LineProblem("medication_retype", message))


def _check_duplicate(line: ImportLine, seen: set[str]) -> None:
    if line.plan is None:
        return
    if line.plan.ref in seen:
        message = N_("plan {ref} står mere end én gang i filen", ref=line.plan.ref)
        line.report.problems.append(LineProblem("duplicate_plan_ref", message))
    seen.add(line.plan.ref)


def _spec(plan: PlanIn, number: int, found: Lookups) -> PlanSpec:
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
        default_channel=plan.default_channel,
        channels=weekday_channels({k: v.value for k, v in plan.channels.items()}),
    )


def _judged_key(plan: PlanIn) -> tuple[object, ...]:
    """Everything of a plan that validation and expansion read (not its ref)."""
    channels = tuple(sorted((day, channel.value) for day, channel in plan.channels.items()))
    return (
        plan.visit_type, plan.rrule, plan.time, plan.window_min, plan.duration_min,
        plan.valid_from, plan.valid_to, plan.default_channel, channels,
    )  # fmt: skip


def _plan_problems(spec: PlanSpec, found: Lookups) -> list[LineProblem]:
    """The plan's validation errors, then what generation would hit over the horizon."""
    try:
        errors = [
            LineProblem(p.code, p.message)
            for p in validate_plan(spec)
            if p.severity is Severity.ERROR
        ]
    except _EXPANSION_ERRORS as exc:
        errors = [
            LineProblem("invalid_plan", N_("planen kan ikke foldes ud: {error}", error=str(exc)))
        ]
    if errors:
        return errors
    try:  # generation expands from today, not from valid_from: some rules fail only there
        occurrences(spec, *found.horizon)
    except _EXPANSION_ERRORS as exc:
        return [
            LineProblem(
                "generation_failed", N_("der kan ikke dannes besøg: {error}", error=str(exc))
            )
        ]
    return []


def _check_overlaps(
    lines: list[ImportLine], specs: dict[str, list[PlanSpec]], found: Lookups
) -> None:
    """Two non-swappable plans of one citizen that may take place at the same time."""
    strict = frozenset(code for code, t in found.types.items() if t.non_swappable)
    for plans in specs.values():
        if len(plans) < 2:
            continue
        start = min(p.valid_from for p in plans)
        try:
            clashes = overlapping_non_swappable(plans, start, start + dt.timedelta(days=35), strict)
        except _EXPANSION_ERRORS as exc:
            for plan in plans:
                message = N_("borgerens planer kan ikke sammenlignes: {error}", error=str(exc))
                lines[plan.plan_id].report.problems.append(LineProblem("invalid_plan", message))
            continue
        for clash in clashes:
            lines[clash.second.key.plan_id].report.problems.append(
                LineProblem(
                    "overlapping_non_swappable",
                    N_(
                        "{second} overlapper {first} den {at:%d.%m.%Y %H:%M}",
                        second=clash.second.visit_type,
                        first=clash.first.visit_type,
                        at=clash.second.start.astimezone(found.zone),
                    ),
                )
            )


def _check_consents(lines: list[ImportLine], found: Lookups) -> None:
    """Warn once per citizen who cannot be rung until a screen-visit consent is recorded."""
    first: dict[str, ImportLine] = {}
    consented = set(found.screen_consent)
    for line in lines:
        if line.citizen is None:
            continue
        first.setdefault(line.citizen.ref, line)
        if "screen_visits" in line.citizen.consents:
            consented.add(line.citizen.ref)
    for ref, line in first.items():
        if ref not in consented:
            message = N_(
                "borger {ref} kan ikke ringes op, før et samtykke til skærmbesøg er registreret",
                ref=ref,
            )
            line.report.warnings.append(LineProblem("no_screen_consent", message))
