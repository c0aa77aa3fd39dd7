"""A visit plan's recurrence in the planner's words, and the RRULE generated from them.

The plan editor never lets anyone type an RRULE: the planner picks "every day", "weekdays"
or chosen days, every week or every second week, and `to_rrule` writes the rule. `from_rrule`
reads a stored rule back into words so an existing plan opens in the same form; rules that
came from elsewhere (an import with BYHOUR, a monthly rule) have no words and stay as they are.

Every second week counts from the plan's first day (its valid_from), as RFC 5545 counts
INTERVAL from DTSTART.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..translatable import N_

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORKING_DAYS = frozenset(WEEKDAYS[:5])


class DayChoice(StrEnum):
    """Which days of the week the plan has a visit."""

    EVERY_DAY = "every_day"
    WEEKDAYS = "weekdays"  # Monday to Friday
    CHOSEN = "chosen"


class WordsInvalid(ValueError):
    """The words do not make a rule (no chosen day, an unknown day, a bad interval)."""

    code = "schedule_invalid"


@dataclass(frozen=True, slots=True)
class ScheduleWords:
    """Days of the week and how often, as the plan editor's form has them."""

    days: DayChoice
    weekdays: frozenset[str] = frozenset()  # "mon".."sun"; only read for CHOSEN
    every_weeks: int = 1  # 1: every week, 2: every second week

    def chosen_days(self) -> tuple[str, ...]:
        """The days with a visit, Monday first."""
        match self.days:
            case DayChoice.EVERY_DAY:
                wanted: frozenset[str] = frozenset(WEEKDAYS)
            case DayChoice.WEEKDAYS:
                wanted = WORKING_DAYS
            case DayChoice.CHOSEN:
                wanted = self.weekdays
        return tuple(day for day in WEEKDAYS if day in wanted)


def to_rrule(words: ScheduleWords) -> str:
    """The RRULE for the words; raises WordsInvalid when they name no day or a wrong interval."""
    unknown = sorted(words.weekdays - set(WEEKDAYS))
    if unknown:
        raise WordsInvalid(N_("ukendt ugedag: {days}", days=", ".join(unknown)))
    if words.every_weeks not in (1, 2):
        raise WordsInvalid(N_("en plan gentages hver uge eller hver anden uge"))
    days = words.chosen_days()
    if not days:
        raise WordsInvalid(N_("vælg mindst én ugedag"))
    if len(days) == 7 and words.every_weeks == 1:
        return "FREQ=DAILY"
    byday = ",".join(RULE_DAYS[WEEKDAYS.index(day)] for day in days)
    interval = "" if words.every_weeks == 1 else f";INTERVAL={words.every_weeks}"
    return f"FREQ=WEEKLY{interval};BYDAY={byday}"


def from_rrule(rule: str) -> ScheduleWords | None:
    """The words for a rule the editor could have written; None for any other rule."""
    parts = _parts(rule)
    if parts is None:
        return None
    if parts == {"FREQ": "DAILY"}:
        return ScheduleWords(DayChoice.EVERY_DAY)
    if parts.get("FREQ") != "WEEKLY" or not set(parts) <= {"FREQ", "INTERVAL", "BYDAY"}:
        return None
    every = parts.get("INTERVAL", "1")
    codes = [code for code in parts.get("BYDAY", "").split(",") if code]
    if every not in ("1", "2") or not codes or any(c not in RULE_DAYS for c in codes):
        return None
    days = frozenset(WEEKDAYS[RULE_DAYS.index(code)] for code in codes)
    return ScheduleWords(_choice(days), days, int(every))


def _choice(days: frozenset[str]) -> DayChoice:
    """The simplest words for a set of days."""
    if days == frozenset(WEEKDAYS):
        return DayChoice.EVERY_DAY
    return DayChoice.WEEKDAYS if days == WORKING_DAYS else DayChoice.CHOSEN


def _parts(rule: str) -> dict[str, str] | None:
    """NAME → VALUE of a one-line rule; None when a part is malformed or repeated."""
    body = rule.strip().upper().removeprefix("RRULE:").rstrip(";")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        if not sep or name in parts:
            return None
        parts[name.strip()] = value.strip()
    return parts
