"""Hostile input on the socket: deep nesting, ids past the database's range, probing colleagues.

Each gets a clear error on a socket that stays open, on SQLite and PostgreSQL (where an id past
2^31 - 1 used to reach the driver as internal_error), and reveals nothing about other users.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from server.app import create_app
from server.settings import Settings
from tests.signaling.conftest import NewClient
from tests.signaling.test_device_state import KAREN, ring_and_answer
from tests.signaling.wsclient import kiosk_socket, staff_socket

DEEP = '{"type": "ping", "id": 3, "x": ' + "[" * 5000 + "]" * 5000 + "}"
PAST_INT = str(2**31)


@pytest.fixture
def db_url(both_backends: str) -> str:
    return both_backends


async def test_deep_nesting_is_an_invalid_message_before_and_after_hello(
    new_client: NewClient,
) -> None:
    client = await new_client()
    ws = await client.ws_connect("/ws")
    await ws.send_str(DEEP)
    refused = await ws.receive_json(timeout=5)
    assert refused["type"] == "error" and refused["code"] == "invalid_message"
    await ws.send_json({"type": "ping", "id": 2})  # still open, still waiting for hello
    assert (await ws.receive_json(timeout=5))["code"] == "not_authenticated"
    await ws.close()
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.ws.send_str("[" * 60_000)  # under the 64 KiB frame limit
    assert (await nurse.expect("error"))["code"] == "invalid_message"
    await nurse.send(type="ping", id=4)
    assert (await nurse.expect("pong"))["ref"] == 4


async def test_ids_past_the_database_range_name_nothing(new_client: NewClient) -> None:
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="presence-subscribe", id=5, citizen_ids=[PAST_INT, "1"])
    snapshot = await nurse.expect("presence")
    assert [entry["citizen_id"] for entry in snapshot["entries"]] == ["1"]
    await nurse.send(type="ring", id=6, citizen_id=PAST_INT)
    refused = await nurse.expect("error")
    assert refused["ref"] == 6 and refused["code"] != "internal_error"
    await nurse.send(type="ring", id=7, citizen_id="1", visit_id=PAST_INT)
    answer = await nurse.next()
    assert answer.get("code") != "internal_error", answer


async def test_invite_reveals_nothing_to_outsiders(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Only a participant learns whether a colleague of her own organisation is online."""
    anna = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    call_id = await ring_and_answer(anna, kiosk)
    bo = await staff_socket(await new_client(), "bo")  # online, not in the call
    carla_id = (await staff_socket(await new_client(), "carla")).welcome["identity"]["id"]
    await bo.send(type="invite", id=8, call_id=call_id, user_id=carla_id)
    assert (await bo.expect("error"))["code"] == "not_member"
    for unknown in ("999999", PAST_INT, "abc"):
        await anna.send(type="invite", id=9, call_id=call_id, user_id=unknown)
        assert (await anna.expect("error"))["code"] == "forbidden", unknown


async def test_a_tablet_revoked_mid_call_leaves_it_at_once(
    aiohttp_client: Any, demo: Settings
) -> None:
    """Revoking ends the tablet's call now, not after the reconnect grace (here 60 s)."""
    app = create_app(dataclasses.replace(demo, reconnect_grace_s=60))
    anna_http = await aiohttp_client(app)
    anna = await staff_socket(anna_http, "anna")
    kiosk = await kiosk_socket(await aiohttp_client(anna_http.server), demo, KAREN)
    await ring_and_answer(anna, kiosk)
    token = (await (await anna_http.get("/api/me")).json())["csrf_token"]
    response = await anna_http.post(
        "/api/citizens/1/kiosk/revoke", json={}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 200, await response.text()
    ended = await anna.expect("call-ended", wait_s=10)
    assert ended["reason"] == "connection_lost" and ended["by"] == kiosk.peer_id
