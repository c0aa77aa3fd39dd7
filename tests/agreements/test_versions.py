"""Versioned agreement sheets on SQLite and PostgreSQL: every write is a version with author and
time, old versions stay readable, the follow-up date is checked, the tablet shows the newest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from server.demo import demo_kiosk_token
from server.settings import Settings
from tests.agreements.test_api import POUL, post, sheet
from tests.conftest import Client, login


@pytest.fixture
def db_url(both_backends: str) -> str:
    """Every test here runs on both backends."""
    return both_backends


async def get_json(client: Client, path: str) -> tuple[int, Any]:
    response = await client.get(path)
    return response.status, await response.json()


async def test_each_edit_is_a_new_version_and_the_old_ones_stay_readable(
    client: Client, demo: Settings
) -> None:
    """Create (v1) and two corrections (v2, v3) by two people; each version reads as written."""
    await login(client, "bo")
    _, created = await post(client, f"/api/citizens/{POUL}/agreements", sheet())
    assert created["version"] == 1 and created["updated_by_name"] == "Bo Nielsen"
    sheet_id = created["id"]
    await post(client, f"/api/agreements/{sheet_id}/edit", sheet(municipality_does="Kl. 11."))
    client.session.cookie_jar.clear()
    await login(client, "vera")
    follow_up = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    body = sheet(municipality_does="Kl. 12.", follow_up_date=follow_up)
    status, edited = await post(client, f"/api/agreements/{sheet_id}/edit", body)
    assert status == 200, edited
    assert (edited["version"], edited["follow_up_date"]) == (3, follow_up)
    assert (edited["author_name"], edited["updated_by_name"]) == ("Bo Nielsen", "Vera Visitator")
    base = f"/api/citizens/{POUL}/agreements/{sheet_id}/versions"
    status, listing = await get_json(client, base)
    assert status == 200 and listing["current"] == 3
    assert [v["version"] for v in listing["versions"]] == [3, 2, 1]
    assert [v["author_name"] for v in listing["versions"]] == [
        "Vera Visitator",
        "Bo Nielsen",
        "Bo Nielsen",
    ]
    status, first = await get_json(client, f"{base}/1")
    assert status == 200
    assert first["municipality_does"] == "Vi ringer tirsdag og fredag kl. 10."
    assert first["citizen_says"] == "Jeg vil klare mig selv så længe jeg kan."
    assert first["follow_up_date"] is None
    assert (await get_json(client, f"{base}/2"))[1]["municipality_does"] == "Kl. 11."
    assert (await client.get(f"{base}/4")).status == 404
    # The sheet belongs to Poul: asking for it under another citizen finds nothing.
    assert (await client.get(f"/api/citizens/1/agreements/{sheet_id}/versions")).status == 404


async def test_follow_up_may_not_be_before_the_meeting(client: Client, demo: Settings) -> None:
    """The next follow-up is on the meeting day or later (within two years)."""
    await login(client, "bo")
    today = dt.date.today()
    for days, expected in ((-1, 400), (800, 400), (0, 201), (30, 201)):
        follow_up = (today + dt.timedelta(days=days)).isoformat()
        status, reply = await post(
            client, f"/api/citizens/{POUL}/agreements", sheet(follow_up_date=follow_up)
        )
        assert status == expected, (days, reply)
        if expected == 400:
            assert reply["error"]["code"] == "invalid_follow_up_date"


async def test_tablet_shows_the_newest_version_with_the_follow_up_in_plain_danish(
    client: Client, demo: Settings
) -> None:
    """After a correction the tablet's sheet is the new version, with "Vi ses igen: …"."""
    await login(client, "bo")
    _, created = await post(client, f"/api/citizens/{POUL}/agreements", sheet())
    follow_up = dt.date(dt.date.today().year + 1, 12, 15)
    if (follow_up - dt.date.today()).days > 700:
        follow_up = follow_up.replace(year=follow_up.year - 1)
    body = sheet(citizen_does="Du ringer selv, hvis du har ondt.", follow_up_date=str(follow_up))
    assert (await post(client, f"/api/agreements/{created['id']}/edit", body))[0] == 200
    token = {"Authorization": f"Bearer {demo_kiosk_token(demo, 1)}"}
    home = await (await client.get("/api/kiosk/me", headers=token)).json()
    shown = home["agreements"]
    assert shown["version"] == 2 and shown["citizen_does"] == "Du ringer selv, hvis du har ondt."
    weekday = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]
    assert shown["follow_up"] == f"Vi ses igen: {weekday[follow_up.weekday()]} 15. december"
