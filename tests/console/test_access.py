"""Authorization of the console over pages, JSON and the WebSocket; the admin pages."""

from __future__ import annotations

import pytest

from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.signaling.wsclient import open_socket


async def test_access_nurse_list_shows_only_her_teams_citizens(
    client: Client, demo: Settings, visits: dict[str, int]
) -> None:
    """Bo (Team Syd) sees Poul's visit but not Karen's (Team Nord), in JSON and on the page."""
    await login(client, "bo")
    rows = (await (await client.get("/api/console/today")).json())["rows"]
    shown = {r["visit_id"] for r in rows}
    assert visits["Poul"] in shown and visits["Karen"] not in shown
    page = await (await client.get("/")).text()
    assert f'data-visit-id="{visits["Poul"]}"' in page
    assert f'data-visit-id="{visits["Karen"]}"' not in page


@pytest.mark.parametrize("path", ["/citizens/1", "/call/1", "/api/citizens/1/overview"])
async def test_access_other_team_citizen_pages_forbidden(
    client: Client, demo: Settings, path: str
) -> None:
    """Karen (Team Nord) is closed to Bo (Team Syd) on every page and JSON route."""
    await login(client, "bo")
    assert (await client.get(path, allow_redirects=False)).status == 403


async def test_access_other_team_ring_forbidden_over_websocket(
    client: Client, demo: Settings
) -> None:
    """Bo cannot ring Karen, and her presence is not revealed to him."""
    await login(client, "bo")
    sock = await open_socket(client)
    await sock.send(type="presence-subscribe", id=2, citizen_ids=["1", "2"])
    snapshot = await sock.expect("presence")
    assert [e["citizen_id"] for e in snapshot["entries"]] == ["2"]
    await sock.send(type="ring", id=3, citizen_id="1")
    error = await sock.expect("error")
    assert error["code"] == "forbidden" and error["ref"] == 3
    await sock.ws.close()


@pytest.mark.parametrize(
    "path",
    ["/admin", "/admin/audit", "/admin/audit.csv", "/api/admin/settings", "/api/admin/audit"],
)
async def test_access_carer_cannot_open_admin(client: Client, demo: Settings, path: str) -> None:
    """A carer gets 403 on every administration page and JSON route."""
    await login(client, "carla")
    assert (await client.get(path, allow_redirects=False)).status == 403


async def test_access_admin_settings_roundtrip_and_validation(
    client: Client, demo: Settings
) -> None:
    """The administrator stores settings (other keys kept); out-of-range values are refused."""
    await login(client, "admin")
    headers = await csrf(client)
    current = await (await client.get("/api/admin/settings")).json()
    changed = {
        **current,
        "ring_timeout_s": 60,
        "retry_ladder": {**current["retry_ladder"], "retries": 3},
    }
    response = await client.post("/api/admin/settings", json=changed, headers=headers)
    assert response.status == 200
    again = await (await client.get("/api/admin/settings")).json()
    assert again["ring_timeout_s"] == 60 and again["retry_ladder"]["retries"] == 3
    bad = await client.post(
        "/api/admin/settings", json={**changed, "ring_timeout_s": 1}, headers=headers
    )
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "invalid_input"


async def test_access_admin_sets_refusal_policy_and_on_call_list(
    client: Client, demo: Settings
) -> None:
    """The refusal policy and the overdue escalation are settings; the on-call list must name
    active staff of the organisation (a stranger's id is refused, nothing is stored)."""
    await login(client, "admin")
    headers = await csrf(client)
    current = await (await client.get("/api/admin/settings")).json()
    assert current["tablet_refusal"] == "retry" and current["overdue"]["to"] == "planners"
    changed = {
        **current,
        "tablet_refusal": "ask",
        "overdue": {"to": "on_call", "on_call_staff_ids": [1]},
    }
    assert (await client.post("/api/admin/settings", json=changed, headers=headers)).status == 200
    for bad_value in (
        {**changed, "tablet_refusal": "sometimes"},
        {**changed, "overdue": {"to": "on_call", "on_call_staff_ids": [99_999]}},
        {**changed, "overdue": {"to": "on_call", "on_call_staff_ids": [1, 1]}},
    ):
        bad = await client.post("/api/admin/settings", json=bad_value, headers=headers)
        assert bad.status == 400 and (await bad.json())["error"]["code"] == "invalid_input"
    again = await (await client.get("/api/admin/settings")).json()
    assert again["tablet_refusal"] == "ask"
    assert again["overdue"] == {"to": "on_call", "on_call_staff_ids": [1]}
    page = await (await client.get("/admin")).text()
    assert 'id="tablet_refusal"' in page and 'value="ask" selected' in page


async def test_access_admin_sets_reminders(client: Client, demo: Settings) -> None:
    """The reminders round-trip through the settings API and show on the page; a wrong time,
    too many or out-of-range offsets are refused and nothing is stored."""
    await login(client, "admin")
    headers = await csrf(client)
    current = await (await client.get("/api/admin/settings")).json()
    assert current["reminders"] == {
        "enabled": True,
        "evening_before": "18:00",
        "minutes_before": [30],
    }
    reminders = {"enabled": True, "evening_before": "19:30", "minutes_before": [15, 120]}
    changed = {**current, "reminders": reminders}
    assert (await client.post("/api/admin/settings", json=changed, headers=headers)).status == 200
    assert (await (await client.get("/api/admin/settings")).json())["reminders"] == reminders
    for bad_value in (
        {**reminders, "evening_before": "25:00"},
        {**reminders, "minutes_before": [5, 10, 15, 20, 25]},
        {**reminders, "minutes_before": [4]},
    ):
        bad = await client.post(
            "/api/admin/settings", json={**changed, "reminders": bad_value}, headers=headers
        )
        assert bad.status == 400 and (await bad.json())["error"]["code"] == "invalid_input"
    assert (await (await client.get("/api/admin/settings")).json())["reminders"] == reminders
    off: dict[str, object] = {"enabled": False, "evening_before": None, "minutes_before": []}
    saved = await client.post(
        "/api/admin/settings", json={**changed, "reminders": off}, headers=headers
    )
    assert saved.status == 200
    assert (await (await client.get("/api/admin/settings")).json())["reminders"] == off
    assert (await client.post("/api/admin/settings", json=changed, headers=headers)).status == 200
    page = await (await client.get("/admin")).text()
    assert 'id="reminders_evening" name="reminders_evening" type="time" value="19:30"' in page
    assert 'value="15, 120"' in page and "Påmindelser til borgeren" in page


async def test_access_admin_audit_filter_and_csv(client: Client, demo: Settings) -> None:
    """Reads of citizen records show in the audit log, filterable, and export as CSV."""
    await login(client, "anna")
    await client.get("/citizens/1")
    client.session.cookie_jar.clear()
    await login(client, "admin")
    events = (await (await client.get("/api/admin/audit?action=citizen.read")).json())["events"]
    assert events and all(e["action"].startswith("citizen.read") for e in events)
    assert any(e["actor"] == "staff:anna" and e["subject_id"] == "1" for e in events)
    response = await client.get("/admin/audit.csv?actor=anna")
    assert response.status == 200 and response.content_type == "text/csv"
    lines = (await response.text()).splitlines()
    assert lines[0].startswith("id,at,actor,action") and len(lines) > 1
    assert all("staff:anna" in line for line in lines[1:])


async def test_access_admin_creates_staff_in_own_team(client: Client, demo: Settings) -> None:
    """A new nurse in Team Nord can log in and sees Team Nord's citizens."""
    await login(client, "admin")
    headers = await csrf(client)
    staff = await (await client.get("/api/admin/staff")).json()
    nord = next(t["id"] for t in staff["teams"] if t["name"] == "Team Nord")
    body = {
        "username": "nina",
        "display_name": "Nina Nord",
        "role": "nurse",
        "team_ids": [nord],
        "password": "a-long-password",
    }
    response = await client.post("/api/admin/staff", json=body, headers=headers)
    assert response.status == 201, await response.text()
    taken = await client.post("/api/admin/staff", json=body, headers=headers)
    assert taken.status == 409
    client.session.cookie_jar.clear()
    assert await login(client, "nina", "a-long-password") == 303
