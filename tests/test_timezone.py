"""One source of the time zone: generation, day lists and the tablet agree on wall-clock times.

The demo plans Karen's medication at 08:00 and a reassurance call at 15:00 every day. Under the
organisation's zone, whichever it is, those are the times everyone sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.app import create_app
from server.db import make_engine, make_sessionmaker
from server.demo import demo_kiosk_token, seed_demo
from server.localtime import local_day
from server.models import Visit, utcnow
from server.sealing import development_keyring
from server.settings import Settings
from tests.conftest import ClientFactory, login

KAREN = 1
KARENS_TIMES = {dt.time(8, 0), dt.time(15, 0)}


@pytest.fixture(params=["Europe/Copenhagen", "America/Anchorage"])
async def zoned(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The demo seeded for an organisation in the zone (Anchorage: west of UTC, AKST/AKDT)."""
    zoned = dataclasses.replace(settings, timezone=request.param)
    await seed_demo(zoned)
    return zoned


async def karens_visits(settings: Settings) -> list[Visit]:
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(Visit).where(Visit.citizen_id == KAREN)))
    finally:
        await engine.dispose()


async def test_timezone_generation_keeps_the_wall_clock(zoned: Settings) -> None:
    """Every generated visit of Karen's falls at 08:00 or 15:00 in the organisation's zone."""
    visits = await karens_visits(zoned)
    assert visits
    assert {v.planned_at.astimezone(zoned.zone).time() for v in visits} == KARENS_TIMES


async def test_timezone_day_lists_show_the_local_day(
    zoned: Settings, aiohttp_client: ClientFactory
) -> None:
    """The call list and the team day list hold exactly tomorrow's local visits, at 08 and 15."""
    client: TestClient = await aiohttp_client(create_app(zoned))  # type: ignore[type-arg]
    assert await login(client, "anna") == 303
    tomorrow = local_day(utcnow(), zoned.zone) + dt.timedelta(days=1)
    console = await (await client.get(f"/api/console/today?date={tomorrow}")).json()
    team = await (await client.get(f"/api/daylist?date={tomorrow}")).json()
    for planned in (
        [r["planned_at"] for r in console["rows"] if r["citizen_id"] == KAREN],
        [v["planned_at"] for v in team["visits"] if v["citizen_id"] == KAREN],
    ):
        local = [dt.datetime.fromisoformat(p).astimezone(zoned.zone) for p in planned]
        assert {moment.date() for moment in local} == {tomorrow}
        assert {moment.time() for moment in local} == KARENS_TIMES
    page = await (await client.get(f"/?date={tomorrow}")).text()
    assert "08:00" in page and "15:00" in page


async def test_timezone_tablet_announces_local_times(
    zoned: Settings, aiohttp_client: ClientFactory
) -> None:
    """The tablet's next visit is worded in the organisation's time, and it learns the zone."""
    client: TestClient = await aiohttp_client(create_app(zoned))  # type: ignore[type-arg]
    token = demo_kiosk_token(zoned, 0)
    home = await (
        await client.get("/api/kiosk/me", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert home["timezone"] == zoned.timezone
    upcoming = home["next_visit"]
    assert upcoming["local_time"] in {t.strftime("%H:%M") for t in KARENS_TIMES}
    planned = dt.datetime.fromisoformat(upcoming["planned_at"]).astimezone(zoned.zone)
    assert planned.strftime("%H:%M") == upcoming["local_time"]
    assert f"kl. {upcoming['local_time']}" in upcoming["sentence"]


def test_timezone_setting_is_checked_at_start() -> None:
    """A zone that does not exist is refused when the settings are read, naming the key."""
    with pytest.raises(ValueError, match="SCREENVISIT_TIMEZONE"):
        Settings.from_env({"SCREENVISIT_TIMEZONE": "Europe/Kopenhagen"})
    zone = Settings.from_env({"SCREENVISIT_TIMEZONE": "America/Anchorage"}).zone
    assert zone == ZoneInfo("America/Anchorage")
