"""The words of reminders and change notices, in plain Danish (and English), from plain facts.

Pure: who (first name), when (kl. HH:MM, i dag / i morgen) and why (the visit type), in the
organisation's wall clock. The same text goes on the tablet and in an SMS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date

from ..vocabulary import Channel, Role


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """What a notice says about a visit."""

    planned_at: dt.datetime
    channel: Channel
    type_da: str
    type_en: str
    staff_name: str | None = None
    staff_role: Role | None = None


@dataclass(frozen=True, slots=True)
class Words:
    """One notice in both languages."""

    da: str
    en: str


def first_name(name: str | None) -> str | None:
    """ "Anna Jensen" → "Anna"."""
    return name.split()[0] if name and name.strip() else None


def when(at: dt.datetime, now: dt.datetime, zone: ZoneInfo) -> Words:
    """ "i dag kl. 10:30", "i morgen kl. 08:00" or "fredag d. 4. kl. 08:00"."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return Words(f"i dag kl. {clock}", f"today at {clock}")
    if local.date() == today + dt.timedelta(days=1):
        return Words(f"i morgen kl. {clock}", f"tomorrow at {clock}")
    day = local.date()
    return Words(  # weekday and month names from Babel's locale data (CLDR)
        f"{format_date(day, 'EEEE', locale='da')} d. {day.day}. kl. {clock}",
        f"{format_date(day, 'EEEE d MMMM', locale='en')} at {clock}",
    )


def _who(facts: VisitFacts) -> Words:
    name = first_name(facts.staff_name)
    return Words(name, name) if name else Words("Hjemmeplejen", "Home care")


def _titled(facts: VisitFacts) -> Words:
    """ "Sygeplejerske Anna" for a nurse, else the first name (or Hjemmeplejen)."""
    who = _who(facts)
    if facts.staff_role is Role.NURSE and first_name(facts.staff_name):
        return Words(f"Sygeplejerske {who.da}", f"Nurse {who.en}")
    return who


def _comes(facts: VisitFacts, now: dt.datetime, zone: ZoneInfo) -> Words:
    """ "Anna kommer på skærmen i dag kl. 10:30 — medicin"."""
    who, at = _who(facts), when(facts.planned_at, now, zone)
    if facts.channel is Channel.SCREEN:
        return Words(
            f"{who.da} kommer på skærmen {at.da} — {facts.type_da.lower()}",
            f"{who.en} will call on the screen {at.en} — {facts.type_en.lower()}",
        )
    return Words(
        f"{who.da} kommer på besøg {at.da} — {facts.type_da.lower()}",
        f"{who.en} will visit you {at.en} — {facts.type_en.lower()}",
    )


def reminder(facts: VisitFacts, now: dt.datetime, zone: ZoneInfo, *, soon: bool) -> Words:
    """ "Husk: Anna kommer på skærmen i morgen kl. 08:00 — medicin." (or "Om lidt: …")."""
    comes = _comes(facts, now, zone)
    if soon:
        return Words(f"Om lidt: {comes.da}.", f"Soon: {comes.en}.")
    return Words(f"Husk: {comes.da}.", f"Reminder: {comes.en}.")


def moved(facts: VisitFacts, was: dt.datetime, now: dt.datetime, zone: ZoneInfo) -> Words:
    """ "Besøget er flyttet: Anna kommer på skærmen i dag kl. 11:00 — medicin (ikke …)."""
    comes, before = _comes(facts, now, zone), when(was, now, zone)
    return Words(
        f"Besøget er flyttet: {comes.da} (ikke {before.da}).",
        f"The visit has moved: {comes.en} (not {before.en}).",
    )


def reassigned(facts: VisitFacts, was_name: str | None, now: dt.datetime, zone: ZoneInfo) -> Words:
    """ "Der kommer en anden: Bo kommer på skærmen i morgen kl. 08:00 — medicin (ikke Anna)."""
    comes, was = _comes(facts, now, zone), first_name(was_name)
    if was is None:
        return Words(f"Nu ved vi, hvem der kommer: {comes.da}.", f"Now we know who: {comes.en}.")
    return Words(
        f"Der kommer en anden: {comes.da} (ikke {was}).",
        f"Someone else is coming: {comes.en} (not {was}).",
    )


def late_by_staff(facts: VisitFacts, minutes: int, expected: dt.datetime, zone: ZoneInfo) -> Words:
    """ "Sygeplejerske Anna er forsinket ca. 10 minutter og ringer kl. 10:40."."""
    who, clock = _titled(facts), f"{expected.astimezone(zone):%H:%M}"
    if facts.channel is Channel.SCREEN:
        does_da, does_en = "ringer", "will call"
    else:
        does_da, does_en = "kommer", "will come"
    return Words(
        f"{who.da} er forsinket ca. {minutes} minutter og {does_da} kl. {clock}.",
        f"{who.en} is running about {minutes} minutes late and {does_en} at {clock}.",
    )


def late_window(facts: VisitFacts, zone: ZoneInfo) -> Words:
    """ "Hjemmeplejen er lidt forsinket med skærmbesøget kl. 10:30 — medicin. …"."""
    clock = f"{facts.planned_at.astimezone(zone):%H:%M}"
    what_da = "skærmbesøget" if facts.channel is Channel.SCREEN else "besøget"
    what_en = "screen visit" if facts.channel is Channel.SCREEN else "visit"
    return Words(
        f"Hjemmeplejen er lidt forsinket med {what_da} kl. {clock} — {facts.type_da.lower()}. "
        "Du skal ikke gøre noget: vi ringer, så snart vi kan.",
        f"Home care is running a little late with the {what_en} at {clock} — "
        f"{facts.type_en.lower()}. You need not do anything: we will call as soon as we can.",
    )


def cancelled(facts: VisitFacts, now: dt.datetime, zone: ZoneInfo) -> Words:
    """ "Skærmbesøget i dag kl. 10:30 er aflyst — medicin."."""
    at = when(facts.planned_at, now, zone)
    what_da = "Skærmbesøget" if facts.channel is Channel.SCREEN else "Besøget"
    what_en = "The screen visit" if facts.channel is Channel.SCREEN else "The visit"
    return Words(
        f"{what_da} {at.da} er aflyst — {facts.type_da.lower()}.",
        f"{what_en} {at.en} is cancelled — {facts.type_en.lower()}.",
    )
