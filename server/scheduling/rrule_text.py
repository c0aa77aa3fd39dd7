"""A recurrence rule in words a nurse reads at a glance ("Hver dag", "Tirsdag og fredag").

Weekday names and the way a list is joined ("mandag, onsdag og fredag") come from Babel's
locale data (CLDR), not from tables of our own.
"""

from __future__ import annotations

from babel.dates import get_day_names
from babel.lists import format_list

CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORDS = {
    "da": {
        "daily": "Hver dag",
        "every_n_days": "Hver {n}. dag",
        "weekly": "Hver uge",
        "every_n_weeks": "Hver {n}. uge",
        "n_weeks_on": "Hver {n}. uge: {days}",
        "monthly": "Hver måned",
    },
    "en": {
        "daily": "Every day",
        "every_n_days": "Every {n} days",
        "weekly": "Every week",
        "every_n_weeks": "Every {n} weeks",
        "n_weeks_on": "Every {n} weeks: {days}",
        "monthly": "Every month",
    },
}


def describe(rule: str, language: str = "da") -> str:
    """Plain words for the common rules; the rule itself for anything more unusual."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    words = WORDS.get(language, WORDS["da"])
    interval = int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 1
    known = set(parts) <= {"FREQ", "INTERVAL", "BYDAY"}
    freq = parts.get("FREQ")
    if not known or freq not in {"DAILY", "WEEKLY", "MONTHLY"}:
        return rule
    if freq == "DAILY" and "BYDAY" not in parts:
        return words["daily"] if interval == 1 else words["every_n_days"].format(n=interval)
    if freq == "MONTHLY":
        return words["monthly"] if interval == 1 and "BYDAY" not in parts else rule
    days = _days(parts.get("BYDAY", ""), language)
    if days is None:
        return rule
    if not days:
        return words["weekly"] if interval == 1 else words["every_n_weeks"].format(n=interval)
    listed = format_list(days, locale=_locale(language))
    listed = listed[0].upper() + listed[1:]
    return listed if interval == 1 else words["n_weeks_on"].format(n=interval, days=listed)


def _locale(language: str) -> str:
    return language if language in WORDS else "da"


def _days(byday: str, language: str) -> list[str] | None:
    names = get_day_names("wide", locale=_locale(language))  # 0 is Monday, as in CODES
    codes = [c.strip() for c in byday.split(",") if c.strip()]
    if any(c not in CODES for c in codes):
        return None  # e.g. "1MO" (first Monday): leave it to the rule itself
    return [names[CODES.index(c)] for c in sorted(codes, key=CODES.index)]
