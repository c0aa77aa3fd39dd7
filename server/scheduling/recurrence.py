"""Visit plans as values, and how their RRULEs expand to the organisation's wall-clock times.

The rules, shared by visit generation, the planner UI and the tests:

* A plan recurs in the organisation's wall-clock time (`PlanSpec.zone`, from
  `Settings.timezone`; Europe/Copenhagen in the examples below). Its RFC 5545 RRULE (parsed by
  python-dateutil) is expanded as *naive* local times with DTSTART = valid_from at
  time_of_day; BYHOUR/BYMINUTE in the rule override time_of_day (several visits a day).
  An 08:00 plan therefore stays at 08:00 local across daylight-saving changes: 07:00 UTC
  in winter, 06:00 UTC in summer.
* Naive local times become UTC through zoneinfo with fold=0 (PEP 495), which means:
  - a time that does not exist (02:00-02:59 on the last Sunday of March, when clocks jump
    from 02:00 to 03:00) moves forward by the gap: 02:30 is planned at 03:30 CEST (01:30 UTC);
  - a time that exists twice (02:00-02:59 on the last Sunday of October) is the first one,
    still summer time: 02:30 is planned at 02:30 CEST (00:30 UTC).
  `plan_rules.validate_plan` warns about every occurrence that hits either case, so the
  planner sees it; `local_time_issue` classifies a single wall-clock time.
* The RRULE must be one line (an optional "RRULE:" prefix is allowed) of standard parts
  without DTSTART or UNTIL, because valid_from/valid_to bound the plan, and without BYSECOND;
  FREQ must be HOURLY or coarser; INTERVAL and COUNT must be 1..999. COUNT counts from
  valid_from. A rule that can never match is not an error here; it expands to nothing.
* Date ranges are inclusive at both ends: valid_from..valid_to, pauses, and start..end of
  an expansion.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from server.scheduling.errors import InvalidRecurrence
from server.vocabulary import Channel

PLAN_SOURCE = "plan"
ONE_DAY = timedelta(days=1)

_FREQUENCIES = frozenset({"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"})
_FORBIDDEN_PARTS = {"DTSTART": "valid_from", "UNTIL": "valid_to"}
_SUPPORTED_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "WKST", "BYMINUTE", "BYHOUR", "BYDAY"}
    | {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS"}
)
_MAX_INTERVAL = 999
# Shifting DTSTART by whole periods of these frequencies leaves the series unchanged
# (weekday, week phase and time of day are kept), so expansion need not walk from valid_from.
_PERIODS = {"HOURLY": timedelta(hours=1), "DAILY": ONE_DAY, "WEEKLY": timedelta(weeks=1)}
# Parse against a fixed DTSTART so parsing never depends on the current time.
_PARSE_ANCHOR = datetime(2000, 1, 1)
# The Gregorian calendar, weekdays and leap years included, repeats every 400 years.
_CALENDAR_CYCLE = timedelta(days=146_097)
_CALENDAR_CYCLE_YEARS = 400


class LocalTimeIssue(StrEnum):
    """Why a wall-clock time is special on a daylight-saving change day."""

    NONEXISTENT = "nonexistent"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class Move:
    """Move one occurrence to a naive local date and time, optionally changing its channel."""

    to: datetime
    channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel the occurrences of one day."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class SwitchChannel:
    """Hold the occurrences of one day on another channel."""

    channel: Channel


OneOffChange = Move | Cancel | SwitchChannel


@dataclass(frozen=True, slots=True)
class Pause:
    """No visits on local dates start..end (hospital stay, holiday)."""

    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        """Whether `day` falls in the pause."""
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True, kw_only=True)
class Adjustment:
    """Temporary extra visits on top of a plan, e.g. a 15:00 reassurance call for 14 days."""

    id: int  # stable (e.g. the DB row id): occurrence keys use "adj:<id>"
    visit_type: str
    rrule: str
    time_of_day: time
    valid_from: date
    valid_to: date
    channel: Channel = Channel.SCREEN
    window_min: int = 15
    duration_min: int = 5

    @property
    def source(self) -> str:
        """The source key of this adjustment's occurrences."""
        return f"adj:{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSpec:
    """A citizen's visit plan as a value (not an ORM object); see the module rules."""

    plan_id: int
    citizen_id: int
    visit_type: str
    rrule: str
    time_of_day: time
    window_min: int
    duration_min: int
    zone: ZoneInfo  # the wall clock the plan recurs in (Settings.timezone)
    valid_from: date
    valid_to: date | None = None
    default_channel: Channel = Channel.SCREEN
    channels: Mapping[int, Channel] = field(default_factory=dict)  # weekday (Monday=0) → channel
    pauses: tuple[Pause, ...] = ()
    exceptions: Mapping[date, OneOffChange] = field(default_factory=dict)  # by original date
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def source(self) -> str:
        """The source key of the plan's own occurrences."""
        return PLAN_SOURCE

    def channel_on(self, day: date) -> Channel:
        """The planned channel for an occurrence on local date `day`."""
        return self.channels.get(day.weekday(), self.default_channel)

    def paused_on(self, day: date) -> bool:
        """Whether a pause covers local date `day`."""
        return any(pause.covers(day) for pause in self.pauses)


class Recurring(Protocol):
    """What plans and adjustments share: a rule, a time of day and a validity range."""

    @property
    def rrule(self) -> str: ...
    @property
    def time_of_day(self) -> time: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_to(self) -> date | None: ...
    @property
    def window_min(self) -> int: ...
    @property
    def duration_min(self) -> int: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A parsed RRULE and the period by which its DTSTART may be fast-forwarded."""

    rule: Any  # dateutil.rrule.rrule; dateutil ships no type hints
    period: timedelta | None

    def fast_forward(self, dtstart: datetime, first: date) -> datetime:
        """Move DTSTART by whole periods to just before `first`: same series, cheaper to expand."""
        if self.period is None:
            return dtstart
        periods = (datetime.combine(first, time.min) - dtstart) // self.period
        return dtstart + max(periods, 0) * self.period


@lru_cache(maxsize=1024)
def parse_rule(text: str) -> ParsedRule:
    """Parse and check an RRULE once per distinct string; raises InvalidRecurrence."""
    parts = _rule_parts(text)
    _check_parts(text, parts)
    body = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        rule = rrulestr(body, dtstart=_PARSE_ANCHOR)
    except ValueError as exc:
        raise InvalidRecurrence(text, str(exc)) from None
    if not isinstance(rule, rrule):
        raise InvalidRecurrence(text, "expected a single RRULE")
    return ParsedRule(rule, _period(parts))


def _rule_parts(text: str) -> dict[str, str]:
    """Split "FREQ=DAILY;BYHOUR=8" into upper-cased NAME → VALUE."""
    body = text.strip().rstrip(";")
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body or any(char in body for char in "\r\n:"):
        raise InvalidRecurrence(text, "expected one RRULE line such as FREQ=DAILY")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not name or name in parts:
            raise InvalidRecurrence(text, f"{item!r} is not a single NAME=VALUE part")
        parts[name] = value.strip().upper()
    return parts


def _check_parts(text: str, parts: Mapping[str, str]) -> None:
    """Reject what dateutil accepts but a plan must not contain, or what would never end."""
    for name, instead in _FORBIDDEN_PARTS.items():
        if name in parts:
            raise InvalidRecurrence(text, f"{name} is not allowed; the plan's {instead} sets it")
    unsupported = sorted(set(parts) - _SUPPORTED_PARTS)
    if unsupported:
        raise InvalidRecurrence(text, f"{', '.join(unsupported)} is not supported in visit plans")
    if parts.get("FREQ") not in _FREQUENCIES:
        raise InvalidRecurrence(text, f"FREQ must be one of {', '.join(sorted(_FREQUENCIES))}")
    # dateutil loops forever on INTERVAL=0, so bounds are checked before it sees the rule.
    for name in ("INTERVAL", "COUNT"):
        value = parts.get(name, "1")
        if not (value.isascii() and value.isdigit() and 0 < int(value) <= _MAX_INTERVAL):
            raise InvalidRecurrence(
                text, f"{name} must be a whole number from 1 to {_MAX_INTERVAL}"
            )


def _period(parts: Mapping[str, str]) -> timedelta | None:
    """The fast-forward period, or None when the series depends on its exact DTSTART (COUNT)."""
    if "COUNT" in parts or parts["FREQ"] not in _PERIODS:
        return None
    return _PERIODS[parts["FREQ"]] * int(parts.get("INTERVAL", "1"))


def local_starts(
    spec: Recurring, start: date, end: date, *, cache: bool = True
) -> tuple[datetime, ...]:
    """Naive local start times of `spec` on dates start..end within its validity, in order.

    `cache=False` is for long one-off ranges (validation) that would crowd the cache.
    """
    first = max(start, spec.valid_from)
    last = end if spec.valid_to is None else min(end, spec.valid_to)
    if first > last:
        return ()
    dtstart = datetime.combine(spec.valid_from, spec.time_of_day.replace(tzinfo=None))
    dtstart = parse_rule(spec.rrule).fast_forward(dtstart, first)
    expand = _expand_cached if cache else _expand
    return expand(spec.rrule, dtstart, first, last)


def _expand(text: str, dtstart: datetime, first: date, last: date) -> tuple[datetime, ...]:
    """Expand an RRULE from `dtstart`, keeping the dates first..last.

    dateutil gives up looking for a next occurrence only past the year 9999, so a rule that
    never matches (FREQ=DAILY;INTERVAL=7;BYDAY=MO from a Tuesday) would spin for seconds on
    every call. Asking the same question whole 400-year calendar cycles later, just below
    9999, bounds that search; the answers shift back exactly.
    """
    shift = _CALENDAR_CYCLE * ((MAXYEAR - last.year) // _CALENDAR_CYCLE_YEARS)
    try:
        rule = parse_rule(text).rule.replace(dtstart=dtstart + shift)
    except ValueError as exc:  # e.g. HOURLY;INTERVAL=2;BYHOUR=9 from an even hour
        raise InvalidRecurrence(text, str(exc)) from None
    after = datetime.combine(first, time.min) + shift
    before = datetime.combine(last, time.max) + shift
    return tuple(local - shift for local in rule.between(after, before, inc=True))


# Many plans share a rule and, after fast-forwarding, a DTSTART; caching the expansion
# makes a nightly run over every citizen cheap.
_expand_cached = lru_cache(maxsize=4096)(_expand)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (fold=0, see the module rules)."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return _naive_to_utc(local, zone)


@lru_cache(maxsize=65_536)
def _naive_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Cached: most plans share a handful of times of day, and zoneinfo lookups add up."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_time_issue(local: datetime, zone: ZoneInfo) -> LocalTimeIssue | None:
    """Whether a naive local time is skipped (spring) or repeated (autumn) that day."""
    early, late = _utc_offset(local, zone, fold=0), _utc_offset(local, zone, fold=1)
    if early == late:
        return None
    # PEP 495: in a gap fold=0 takes the earlier (smaller) offset, in a fold the larger one.
    return LocalTimeIssue.NONEXISTENT if early < late else LocalTimeIssue.AMBIGUOUS


def _utc_offset(local: datetime, zone: ZoneInfo, fold: int) -> timedelta:
    """The UTC offset in ``zone`` of a naive local time read with the given fold."""
    offset = local.replace(tzinfo=zone, fold=fold).utcoffset()
    return offset if offset is not None else timedelta(0)


def clock_change_days(first: date, last: date, zone: ZoneInfo) -> list[date]:
    """Local dates in first..last on which the zone's UTC offset changes."""
    return [
        day
        for day in _days(first, last)
        if _midnight_offset(day, zone) != _midnight_offset(day + ONE_DAY, zone)
    ]


def _midnight_offset(day: date, zone: ZoneInfo) -> timedelta:
    """The UTC offset at local midnight starting `day` (fold=0 where midnight is skipped)."""
    return _utc_offset(datetime.combine(day, time.min), zone, fold=0)


def _days(first: date, last: date) -> Iterator[date]:
    """Every date from first to last inclusive."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY
