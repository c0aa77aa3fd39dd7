"""The nurse's list, the kiosk's next visit and the calendar feed show the same visits."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar
from sqlalchemy import select

from server.models import Citizen, Staff
from server.visits.daylist import next_visit_for_citizen
from tests.conftest import Client, login
from tests.databases import transaction
from tests.zone import LOCAL_ZONE, today


async def _csrf(client: Client) -> str:
    page = await client.get("/")
    return (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]


async def test_daylist_kiosk_and_calendar_agree(demo: object, client: Client, db_url: str) -> None:
    """Anna's team list, a citizen's next visit and Anna's team feed name the same visits."""
    assert await login(client, "anna") == 303
    tomorrow = today() + dt.timedelta(days=1)
    listing = await client.get(f"/api/daylist?date={tomorrow.isoformat()}")
    assert listing.status == 200
    visits = (await listing.json())["visits"]
    assert visits and all(v["status"] == "planned" for v in visits)
    async with transaction(db_url) as session:
        anna = await session.scalar(select(Staff).where(Staff.username == "anna"))
        assert anna is not None
        citizen_id = visits[0]["citizen_id"]
        citizen = await session.get_one(Citizen, citizen_id)
        upcoming = await next_visit_for_citizen(
            session, citizen_id, dt.datetime.fromisoformat(visits[0]["window_start"]), LOCAL_ZONE
        )
    assert upcoming is not None and upcoming.visit_id == visits[0]["visit_id"]
    created = await client.post(
        "/api/calendar/feeds",
        json={"team_id": citizen.team_id},
        headers={"X-CSRF-Token": await _csrf(client)},
    )
    assert created.status == 201, await created.text()
    url = (await created.json())["url"]
    path = "/" + url.split("/", 3)[3]
    client.session.cookie_jar.clear()  # a calendar app has no login
    feed = await client.get(path)
    assert feed.status == 200 and feed.content_type == "text/calendar"
    events = Calendar.from_ical(await feed.read()).walk("VEVENT")
    uids = {str(e["uid"]).split("@")[0] for e in events}
    assert {f"visit-{v['visit_id']}" for v in visits} <= uids


async def test_calendar_feed_revoked_stops_working(demo: object, client: Client) -> None:
    """A revoked feed URL answers 404."""
    assert await login(client, "anna") == 303
    token = await _csrf(client)
    created = await (
        await client.post("/api/calendar/feeds", json={}, headers={"X-CSRF-Token": token})
    ).json()
    path = "/" + created["url"].split("/", 3)[3]
    assert (await client.get(path)).status == 200
    revoked = await client.post(
        f"/api/calendar/feeds/{created['id']}/revoke", json={}, headers={"X-CSRF-Token": token}
    )
    assert revoked.status == 200
    assert (await client.get(path)).status == 404


async def test_calendar_feed_stops_when_owner_is_deactivated(
    demo: object, client: Client, db_url: str
) -> None:
    """A former employee's phone stops syncing the team's visits."""
    from sqlalchemy import update

    from server.models import Staff
    from tests.databases import transaction

    assert await login(client, "anna") == 303
    token = await _csrf(client)
    created = await (
        await client.post("/api/calendar/feeds", json={}, headers={"X-CSRF-Token": token})
    ).json()
    path = "/" + created["url"].split("/", 3)[3]
    assert (await client.get(path)).status == 200
    async with transaction(db_url) as session:
        await session.execute(update(Staff).where(Staff.username == "anna").values(active=False))
    assert (await client.get(path)).status == 404
