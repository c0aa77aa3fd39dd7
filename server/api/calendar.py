"""Calendar feeds: create, revoke and rotate private iCalendar URLs, and serve them."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from .. import audit
from ..auth.authz import require_staff
from ..errors import Forbidden, NotFound
from ..keys import sessionmaker_key, settings_key
from ..models import CalendarFeed, utcnow
from ..scheduling.calendar import (
    create_feed,
    feed_expires_at,
    feed_for_token,
    feed_rows,
    rotate_feed,
    to_ical,
)
from ..translatable import N_
from .models import WireModel
from .spec import ApiRoutes

api = ApiRoutes(tag="calendar")


class FeedRequest(WireModel):
    """A feed of my own visits, or (with `team_id`) of one of my teams."""

    team_id: int | None = None


class FeedOut(WireModel):
    """A feed; `url` carries the token and is only returned when the feed is created."""

    id: int
    team_id: int | None
    url: str | None
    revoked: bool
    expires_at: dt.datetime  # the URL stops working then (FEED_DAYS after it was made)


class FeedList(WireModel):
    """My feeds."""

    feeds: list[FeedOut]


class Empty(WireModel):
    """No body."""


@api.post("/api/calendar/feeds", body=FeedRequest, response=FeedOut, summary="New feed", status=201)
async def post_feed(request: web.Request, body: FeedRequest) -> FeedOut:
    """Create a private feed URL (keep it secret; revoke it if it leaks)."""
    identity = require_staff(request)
    if body.team_id is not None and body.team_id not in identity.team_ids:
        raise Forbidden(N_("Du er ikke med i det team."))
    days = request.app[settings_key].feed_days
    async with request.app[sessionmaker_key].begin() as session:
        feed, token = await create_feed(session, identity.staff_id, body.team_id, days)
        audit.record(
            session,
            "calendar_feed.created",
            actor=identity,
            subject=("calendar_feed", feed.id),
            detail={"team_id": body.team_id},
            request=request,
        )
    return _feed_out(request, feed, token)


def _feed_out(request: web.Request, feed: CalendarFeed, token: str | None = None) -> FeedOut:
    """A feed on the wire; its URL only with the token it was just made with."""
    settings = request.app[settings_key]
    url = None if token is None else f"{settings.public_url.rstrip('/')}/calendar/{token}.ics"
    return FeedOut(
        id=feed.id,
        team_id=feed.team_id,
        url=url,
        revoked=feed.revoked_at is not None,
        expires_at=feed_expires_at(feed, settings.feed_days),
    )


@api.get("/api/calendar/feeds", response=FeedList, summary="My calendar feeds")
async def list_feeds(request: web.Request) -> FeedList:
    """My feeds (their URLs are not shown again)."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key]() as session:
        feeds = await session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.owner_staff_id == identity.staff_id)
            .order_by(CalendarFeed.id)
        )
        return FeedList(feeds=[_feed_out(request, f) for f in feeds])


@api.post(
    r"/api/calendar/feeds/{feed_id:\d+}/revoke", body=Empty, response=FeedOut, summary="Revoke"
)
async def revoke_feed(request: web.Request, body: Empty) -> FeedOut:
    """Stop a feed URL from working, at once."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key].begin() as session:
        feed = await session.get(CalendarFeed, int(request.match_info["feed_id"]))
        if feed is None or feed.owner_staff_id != identity.staff_id:
            raise NotFound(N_("Kalenderlinket findes ikke."))
        feed.revoked_at = feed.revoked_at or utcnow()
        audit.record(
            session,
            "calendar_feed.revoked",
            actor=identity,
            subject=("calendar_feed", feed.id),
            request=request,
        )
        return _feed_out(request, feed)


@api.post(
    r"/api/calendar/feeds/{feed_id:\d+}/rotate",
    body=Empty,
    response=FeedOut,
    summary="Rotate",
    status=201,
)
async def post_rotate_feed(request: web.Request, body: Empty) -> FeedOut:
    """Revoke a feed and get a new URL for the same visits (my own, or the same team's)."""
    identity = require_staff(request)
    async with request.app[sessionmaker_key].begin() as session:
        feed = await session.get(CalendarFeed, int(request.match_info["feed_id"]))
        if feed is None or feed.owner_staff_id != identity.staff_id:
            raise NotFound(N_("Kalenderlinket findes ikke."))
        if feed.team_id is not None and feed.team_id not in identity.team_ids:
            raise Forbidden(N_("Du er ikke med i det team."))
        new, token = await rotate_feed(session, feed, request.app[settings_key].feed_days)
        audit.record(
            session,
            "calendar_feed.rotated",
            actor=identity,
            subject=("calendar_feed", new.id),
            detail={"revoked_feed_id": feed.id, "team_id": feed.team_id},
            request=request,
        )
        return _feed_out(request, new, token)


async def calendar_feed(request: web.Request) -> web.Response:
    """The iCalendar document behind a token URL (no login: the token is the key)."""
    token = request.match_info["token"]
    settings = request.app[settings_key]
    async with request.app[sessionmaker_key]() as session:
        feed = await feed_for_token(session, token, utcnow(), settings.feed_days)
        if feed is None:  # unknown, revoked or expired: the same answer
            raise NotFound(N_("Kalenderen findes ikke."))
        rows = await feed_rows(session, feed, utcnow(), settings.zone)
        await audit.record_read(
            session,
            "calendar_feed.read",
            actor=f"calendar-feed:{feed.id}",
            citizen_ids=[r.citizen_id for r in rows],
            detail={"owner_staff_id": feed.owner_staff_id, "team_id": feed.team_id},
            request=request,
        )
    host = urlsplit(settings.public_url).hostname or "screenvisit"
    body = to_ical(rows, "Skærmbesøg", host, settings.zone)
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


api.table.get(r"/calendar/{token:[A-Za-z0-9_-]{16,128}}.ics")(calendar_feed)
