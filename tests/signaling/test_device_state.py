"""The tablet says what it can do (`device-state`); staff hear it as presence and `peer-state`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from server.settings import Settings
from server.signaling import messages as m
from server.signaling.messages import ErrorCode, parse_client_message, server_message
from tests.signaling.conftest import NewClient
from tests.signaling.test_handler import assert_idle, settle
from tests.signaling.wsclient import Sock, kiosk_socket, open_socket, staff_socket

KAREN = 0  # demo citizen index 0: Karen (id 1), Team Nord, Anna's citizen


def device(sound: bool = True, camera: bool = True, microphone: bool = True) -> dict[str, Any]:
    """A `device-state` message's fields."""
    return {"type": "device-state", "sound": sound, "camera": camera, "microphone": microphone}


async def presence(sock: Sock) -> dict[str, Any]:
    """The next presence entry (one citizen per update)."""
    message = await sock.expect("presence")
    entry: dict[str, Any] = message["entries"][0]
    return entry


async def ring_and_answer(nurse: Sock, kiosk: Sock) -> str:
    """Anna rings Karen and the tablet answers; the call id (call-states consumed)."""
    await nurse.send(type="ring", citizen_id="1")
    call_id = str((await nurse.expect("call-state"))["call_id"])
    await kiosk.expect("ring")
    await kiosk.send(type="accept", call_id=call_id)
    assert (await kiosk.expect("call-state"))["state"] == "active"
    assert (await nurse.expect("call-state"))["state"] == "active"
    return call_id


@pytest.mark.parametrize(
    "fields",
    [
        {"sound": "yes", "camera": True, "microphone": True},  # strict: no strings for booleans
        {"sound": True, "camera": True},  # every field is required
        {"sound": True, "camera": True, "microphone": True, "volume": 3},  # no unknown fields
    ],
)
def test_device_state_parse_rejects_bad_fields(fields: dict[str, Any]) -> None:
    """A malformed device-state is invalid_message, like any other client message."""
    with pytest.raises(m.MessageError) as caught:
        parse_client_message(json.dumps({"type": "device-state", "id": 4, **fields}))
    assert caught.value.code is ErrorCode.INVALID_MESSAGE and caught.value.ref == 4


def test_device_state_wire_models_round_trip() -> None:
    """device-state parses; peer-state and the presence `sound` survive a round trip."""
    parsed = parse_client_message(json.dumps(device(sound=False)))
    assert parsed == m.DeviceState(sound=False, camera=True, microphone=True)
    state = m.PeerState(call_id="c1", peer_id="k1", camera=False, microphone=True, sound=True)
    entry = m.PresenceEntry(citizen_id="1", online=True, sound=False)
    for message in (state, m.Presence(entries=(entry,))):
        assert server_message.validate_json(message.model_dump_json()) == message
    unknown = json.loads(m.PresenceEntry(citizen_id="1", online=False).model_dump_json())
    assert unknown["sound"] is None  # old kiosks and offline tablets: unknown, not "off"


async def test_device_state_from_staff_is_forbidden(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Only a tablet reports its devices: staff get forbidden and their socket stays open."""
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(id=7, **device())
    error = await nurse.expect("error")
    assert error["code"] == "forbidden" and error["ref"] == 7
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.send(id=8, **{**device(), "sound": "off"})
    assert (await kiosk.expect("error"))["code"] == "invalid_message"
    for sock in (nurse, kiosk):
        await sock.send(type="ping", id=9)
        assert (await sock.expect("pong"))["ref"] == 9


async def test_presence_says_whether_the_tablet_can_ring_aloud(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """`sound` is null until the tablet says, follows its changes, and is null again offline."""
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="presence-subscribe", id=1, citizen_ids=["1"])
    assert (await presence(nurse))["sound"] is None
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    entry = await presence(nurse)
    assert entry["online"] and entry["sound"] is None  # a kiosk that never says: unknown
    await kiosk.send(**device(sound=False))
    assert (await presence(nurse))["sound"] is False  # online, sound off
    await kiosk.send(**device(sound=False, camera=False))  # no sound change: no presence
    await kiosk.send(**device(sound=True, camera=False))
    assert (await presence(nurse))["sound"] is True
    await nurse.send(type="presence-subscribe", id=2, citizen_ids=["1"])
    assert (await presence(nurse))["sound"] is True  # a fresh snapshot knows it too
    await kiosk.ws.close()
    entry = await presence(nurse)
    assert not entry["online"] and entry["sound"] is None
    await nurse.ws.close()
    await settle(app)
    assert_idle(app)


async def test_peer_state_reaches_the_nurse_in_a_call(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """The caller hears the tablet's state when it rings and when it is answered, then each
    change; the tablet itself never gets a peer-state."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.send(**device(sound=False))
    await nurse.send(type="ring", citizen_id="1")
    call_id = (await nurse.expect("call-state"))["call_id"]
    assert (await nurse.expect("peer-state"))["sound"] is False  # it rings silently
    await kiosk.expect("ring")
    await kiosk.send(type="accept", call_id=call_id)
    assert (await kiosk.expect("call-state"))["state"] == "active"
    assert (await nurse.expect("call-state"))["state"] == "active"
    state = await nurse.expect("peer-state")
    assert state == {
        "type": "peer-state",
        "call_id": call_id,
        "peer_id": kiosk.peer_id,
        "camera": True,
        "microphone": True,
        "sound": False,
    }
    await kiosk.send(**device(sound=True, microphone=False))
    state = await nurse.expect("peer-state")
    assert not state["microphone"] and state["sound"] and state["camera"]
    await kiosk.send(type="ping", id=3)
    assert (await kiosk.expect("pong"))["ref"] == 3  # nothing else came to the tablet
    await nurse.send(type="hangup", call_id=call_id)
    assert (await kiosk.expect("call-ended"))["reason"] == "hangup"
    await nurse.ws.close()
    await kiosk.ws.close()
    await settle(app)
    assert_idle(app)


async def test_peer_state_after_resume_and_for_a_joining_colleague(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A nurse who reconnects mid-call, and a colleague who joins, learn the tablet's state."""
    anna_http = await new_client()
    nurse = await staff_socket(anna_http, "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    call_id = await ring_and_answer(nurse, kiosk)
    await kiosk.send(**device(camera=False))
    assert (await nurse.expect("peer-state"))["camera"] is False
    await nurse.ws.close()
    await kiosk.expect("peer-disconnected")
    resume = {"call_id": call_id, "resume_token": nurse.welcome["resume_token"]}
    back = await open_socket(anna_http, {"resume": resume})
    assert back.welcome["resumed"]["call_id"] == call_id
    state = await back.expect("peer-state")
    assert state["peer_id"] == kiosk.peer_id and state["camera"] is False

    carla = await staff_socket(await new_client(), "carla")
    staff_id = carla.welcome["identity"]["id"]
    await back.send(type="invite", call_id=call_id, user_id=staff_id)
    await carla.expect("invited")
    await carla.send(type="accept", id=5, call_id=call_id)
    assert (await carla.expect("call-state"))["ref"] == 5
    state = await carla.expect("peer-state")
    assert state["peer_id"] == kiosk.peer_id and state["camera"] is False
