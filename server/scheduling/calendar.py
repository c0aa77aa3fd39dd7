"""iCalendar feeds of visits for a staff member or a team, at private revocable token URLs.

Only a hash of a feed's token is stored; revoking sets `revoked_at` and the URL stops working.
A URL also stops working ``FEED_DAYS`` after it was made (a leaked link does not work for good);
rotating revokes a feed and makes its successor for the same owner and team in one step.
Events name the citizen by first name and last initial: calendar apps sync to phones and
clouds outside our control, so the feed carries as little health data as still helps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..localtime import local_day
from ..models import CalendarFeed, Staff, TeamMembership, utcnow
from ..security import new_token, token_hash
from ..visits.daylist import DayScope, DayVisit, day_list
from ..vocabulary import Channel, VisitStatus

PAST_DAYS = 7
FUTURE_DAYS = 14


async def create_feed(
    session: AsyncSession, staff_id: int, team_id: int | None, days: int
) -> tuple[CalendarFeed, str]:
    """A new feed, valid for ``days``, and its token (shown once, never stored)."""
    token = new_token()
    now = utcnow()
    feed = CalendarFeed(
        token_hash=token_hash(token),
        owner_staff_id=staff_id,
        team_id=team_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(feed)
    await session.flush()
    return feed, token


async def rotate_feed(
    session: AsyncSession, feed: CalendarFeed, days: int
) -> tuple[CalendarFeed, str]:
    """Revoke ``feed`` and make its successor (same owner and team) with a fresh token."""
    feed.revoked_at = feed.revoked_at or utcnow()
    return await create_feed(session, feed.owner_staff_id, feed.team_id, days)


def feed_expires_at(feed: CalendarFeed, days: int) -> dt.datetime:
    """When a feed stops working: as set when made, or ``days`` after a pre-0017 feed's making."""
    return feed.expires_at or feed.created_at + dt.timedelta(days=days)


async def feed_for_token(
    session: AsyncSession, token: str, now: dt.datetime, days: int
) -> CalendarFeed | None:
    """The live feed a token opens, if any (not revoked, not expired)."""
    feed = await session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token))
    )
    if feed is None or feed.revoked_at is not None or feed_expires_at(feed, days) <= now:
        return None
    owner_active = await session.scalar(select(Staff.active).where(Staff.id == feed.owner_staff_id))
    if not owner_active:  # a deactivated owner's feeds stop with their access
        return None
    if feed.team_id is not None:
        member = await session.scalar(
            select(TeamMembership.team_id).where(
                TeamMembership.staff_id == feed.owner_staff_id,
                TeamMembership.team_id == feed.team_id,
            )
        )
        if member is None:  # the owner left the team: the feed stops with their access
            return None
    return feed


async def feed_rows(
    session: AsyncSession, feed: CalendarFeed, now: dt.datetime, zone: ZoneInfo
) -> list[DayVisit]:
    """The visits a feed shows: a week back and two weeks ahead."""
    today = local_day(now, zone)
    if feed.team_id is not None:
        scope = DayScope(team_ids=[feed.team_id], details=False)
    else:
        scope = DayScope(staff_id=feed.owner_staff_id, details=False)
    first, last = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=FUTURE_DAYS)
    return await day_list(session, scope, first, last, tz=zone, now=now)


def short_name(name: str) -> str:
    """ "Karen Sørensen" → "Karen S."."""
    parts = name.split()
    return parts[0] if len(parts) < 2 else f"{parts[0]} {parts[-1][0]}."


# The feed is Danish, like its title; the status words are the console's (_labels.html).
STATUS_DA = {
    VisitStatus.PLANNED: "Planlagt",
    VisitStatus.RINGING: "Ringer",
    VisitStatus.IN_CALL: "I opkald",
    VisitStatus.DONE: "Udført",
    VisitStatus.NOT_ANSWERED: "Ikke svaret",
    VisitStatus.MISSED: "Eskaleret",
    VisitStatus.CANCELLED: "Aflyst",
}


def to_ical(rows: Sequence[DayVisit], title: str, host: str, zone: ZoneInfo) -> bytes:
    """The feed as an iCalendar document, in the organisation's zone.

    Start and end carry ``TZID`` = the organisation's zone with its VTIMEZONE, so a calendar
    app shows the same wall-clock time as the console (08:30 is 08:30 whatever the phone's
    zone) and a visit keeps its hour across a clock change; only DTSTAMP is UTC, as RFC 5545
    requires.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//screenvisit//scheduling//DA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", zone.key)
    stamp = utcnow()
    for row in rows:
        event = Event()
        how = "Skærmbesøg" if row.channel == Channel.SCREEN else "Fysisk besøg"
        start = row.planned_at.astimezone(zone)
        end = (row.planned_at + dt.timedelta(minutes=row.duration_min)).astimezone(zone)
        event.add("uid", f"visit-{row.visit_id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", f"{row.visit_type_name_da}: {short_name(row.citizen_name)}")
        event.add(
            "description",
            f"{how}, vindue ±{row.window_min} min. Status: {STATUS_DA[row.status]}. "
            f"Ansvarlig: {row.assigned_staff_name or '—'}",
        )
        if row.status is VisitStatus.CANCELLED:
            event.add("status", "CANCELLED")
        calendar.add_component(event)
    calendar.add_missing_timezones()  # one VTIMEZONE for the TZID the events use
    document: bytes = calendar.to_ical()
    return document
