"""The demo's day works at any hour: each nurse has a documented visit, one due now, later ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.demo import CITIZEN_NAMES, DEMO_SLUG
from server.demo_day import SLOTS, lay_out_demo_day
from server.settings import Settings
from tests.conftest import login
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import kiosk_socket, staff_socket


async def _my_visits(
    new_client: NewClient, settings: Settings, username: str
) -> list[dict[str, Any]]:
    """Every visit assigned to ``username`` on the days the demo day spans."""
    client = await new_client()
    assert await login(client, username) == 303
    now = dt.datetime.now(settings.zone)
    days = {(now + slot.offset).date() for slot in SLOTS}
    visits: list[dict[str, Any]] = []
    for day in sorted(days):
        response = await client.get(f"/api/daylist?mine=1&date={day.isoformat()}")
        assert response.status == 200
        visits += (await response.json())["visits"]
    return visits


async def test_demo_day_gives_every_nurse_past_present_and_later_visits(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Anna and Bo each see a done visit before now, one in its window now and later ones."""
    assert await lay_out_demo_day(signaling_settings.database_url, DEMO_SLUG) == 8
    now = dt.datetime.now(dt.UTC)
    for username in ("anna", "bo"):
        visits = await _my_visits(new_client, signaling_settings, username)
        starts = [
            (
                dt.datetime.fromisoformat(v["window_start"]),
                dt.datetime.fromisoformat(v["window_end"]),
                v,
            )
            for v in visits
        ]
        assert any(end < now and v["status"] == "done" for _, end, v in starts)
        assert any(start <= now < end and v["status"] == "planned" for start, end, v in starts)
        assert sum(1 for start, _, v in starts if start > now) >= 2


async def test_demo_day_is_laid_out_once_an_hour(signaling_settings: Settings) -> None:
    """Starting the demo twice within the hour adds no second set of visits."""
    first = await lay_out_demo_day(signaling_settings.database_url, DEMO_SLUG)
    again = await lay_out_demo_day(signaling_settings.database_url, DEMO_SLUG)
    assert (first, again) in {(8, 0), (8, 8)}  # (8, 8) only if the clock's hour turned between


async def test_demo_visit_due_now_is_auto_answered(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """The visit due in minutes belongs to a citizen who consented: the ring carries a countdown."""
    await lay_out_demo_day(signaling_settings.database_url, DEMO_SLUG)
    visits = await _my_visits(new_client, signaling_settings, "anna")
    now = dt.datetime.now(dt.UTC)
    due = next(
        v
        for v in visits
        if dt.datetime.fromisoformat(v["window_start"])
        <= now
        < dt.datetime.fromisoformat(v["window_end"])
    )
    index = [name for name, _ in CITIZEN_NAMES].index(due["citizen_name"])
    kiosk = await kiosk_socket(await new_client(), signaling_settings, index)
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="ring", citizen_id=str(due["citizen_id"]), visit_id=str(due["visit_id"]))
    ring = await kiosk.expect("ring")
    assert ring["auto_answer_after_s"] is not None and ring["auto_answer_after_s"] > 0
    await nurse.send(type="cancel", call_id=ring["call_id"])
    await kiosk.expect("call-ended")
