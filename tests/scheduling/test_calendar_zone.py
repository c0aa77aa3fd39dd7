"""The calendar feed is in the organisation's zone: local start times with a VTIMEZONE."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from tests.conftest import Client, login
from tests.zone import LOCAL_ZONE, today


async def _csrf(client: Client) -> str:
    page = await client.get("/")
    return (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]


async def test_calendar_feed_in_the_organisations_zone(demo: object, client: Client) -> None:
    """Each event starts at the visit's wall-clock time in the organisation's zone (TZID and
    its VTIMEZONE), the same instant as the day list, and says its status in Danish."""
    assert await login(client, "anna") == 303
    tomorrow = today() + dt.timedelta(days=1)
    listing = await (await client.get(f"/api/daylist?date={tomorrow.isoformat()}")).json()
    planned = {v["visit_id"]: dt.datetime.fromisoformat(v["planned_at"]) for v in listing["visits"]}
    assert planned
    created = await client.post(
        "/api/calendar/feeds", json={}, headers={"X-CSRF-Token": await _csrf(client)}
    )
    assert created.status == 201, await created.text()
    path = "/" + (await created.json())["url"].split("/", 3)[3]
    client.session.cookie_jar.clear()  # a calendar app has no login
    calendar = Calendar.from_ical(await (await client.get(path)).read())
    zones = [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")]
    assert zones == [LOCAL_ZONE.key]
    events = {
        int(str(e["uid"]).split("@")[0].removeprefix("visit-")): e for e in calendar.walk("VEVENT")
    }
    for visit_id, at in planned.items():
        if visit_id not in events:
            continue  # the feed shows Anna's visits; the list shows her team's
        event = events[visit_id]
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert event["dtstart"].params["TZID"] == LOCAL_ZONE.key
        assert start == at and start.utcoffset() == at.astimezone(LOCAL_ZONE).utcoffset()
        assert start.strftime("%H:%M") == at.astimezone(LOCAL_ZONE).strftime("%H:%M")
        assert end > start and "Status: Planlagt" in str(event["description"])
