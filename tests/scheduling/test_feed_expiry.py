"""Calendar feed URLs expire FEED_DAYS after they are made and can be rotated to a new URL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from server.models import AuditEvent, CalendarFeed, utcnow
from tests.conftest import Client, login
from tests.databases import transaction


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Feeds are rows: run on both backends."""
    return both_backends


async def _csrf(client: Client) -> dict[str, str]:
    page = await client.get("/")
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    return {"X-CSRF-Token": token}


async def _new_feed(client: Client, body: dict[str, object]) -> dict[str, object]:
    response = await client.post("/api/calendar/feeds", json=body, headers=await _csrf(client))
    assert response.status == 201
    feed: dict[str, object] = await response.json()
    return feed


def _path(feed: dict[str, object]) -> str:
    return "/" + str(feed["url"]).split("/", 3)[3]


async def test_feed_expires_after_feed_days(demo: object, client: Client, db_url: str) -> None:
    """A new feed says when it expires (FEED_DAYS on); once past, its URL answers 404 like a
    revoked one, and a feed from before expiry existed expires FEED_DAYS after its making."""
    assert await login(client, "anna") == 303
    feed = await _new_feed(client, {})
    expires = dt.datetime.fromisoformat(str(feed["expires_at"]))
    assert abs(expires - (utcnow() + dt.timedelta(days=180))) < dt.timedelta(minutes=5)
    assert (await client.get(_path(feed))).status == 200
    async with transaction(db_url) as session:
        await session.execute(
            update(CalendarFeed)
            .where(CalendarFeed.id == feed["id"])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert (await client.get(_path(feed))).status == 404

    legacy = await _new_feed(client, {})
    async with transaction(db_url) as session:  # as migration 0017 leaves an older feed
        await session.execute(
            update(CalendarFeed)
            .where(CalendarFeed.id == legacy["id"])
            .values(expires_at=None, created_at=utcnow() - dt.timedelta(days=181))
        )
    assert (await client.get(_path(legacy))).status == 404
    listed = await (await client.get("/api/calendar/feeds")).json()
    old = next(f for f in listed["feeds"] if f["id"] == legacy["id"])
    assert dt.datetime.fromisoformat(old["expires_at"]) < utcnow()


async def test_feed_rotation_revokes_the_old_url(demo: object, client: Client, db_url: str) -> None:
    """Rotating gives a new URL for the same team, the old one stops at once, and the rotation
    is audited; nobody else can rotate the feed."""
    assert await login(client, "anna") == 303
    team_id = (await (await client.get("/api/me")).json())["team_ids"][0]
    feed = await _new_feed(client, {"team_id": team_id})
    rotated = await client.post(
        f"/api/calendar/feeds/{feed['id']}/rotate", json={}, headers=await _csrf(client)
    )
    assert rotated.status == 201
    new = await rotated.json()
    assert new["id"] != feed["id"] and new["team_id"] == team_id and not new["revoked"]
    assert new["url"] != feed["url"]
    assert (await client.get(_path(feed))).status == 404
    assert (await client.get(_path(new))).status == 200
    listed = {f["id"]: f for f in (await (await client.get("/api/calendar/feeds")).json())["feeds"]}
    assert listed[feed["id"]]["revoked"] and not listed[new["id"]]["revoked"]
    async with transaction(db_url) as session:
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "calendar_feed.rotated")
        )
    assert event is not None and event.subject_id == str(new["id"])
    assert event.detail["revoked_feed_id"] == feed["id"]

    client.session.cookie_jar.clear()
    assert await login(client, "bo") == 303
    refused = await client.post(
        f"/api/calendar/feeds/{new['id']}/rotate", json={}, headers=await _csrf(client)
    )
    assert refused.status == 404
