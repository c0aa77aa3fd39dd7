"""Guests over signalling: hello with an invite → the lobby; the host's knock, admit, deny and
remove; what a guest may not do; capacity counts guests; the host ends the meeting."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from server.meetings.lobby import LocalLobby
from server.settings import Settings
from tests.conftest import Client
from tests.console.conftest import csrf
from tests.meetings import seed
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import Sock, kiosk_socket, open_socket, staff_socket

KAREN_KIOSK = 0  # demo citizen 1 (Karen, Team Nord: anna)


@pytest.fixture
def signaling_settings(demo: Settings) -> Settings:
    """Short timers, and room for three: host, tablet and one guest."""
    return dataclasses.replace(
        demo,
        ring_timeout_s=5,
        reconnect_grace_s=2,
        ws_auth_deadline_s=2.0,
        ws_heartbeat_s=5.0,
        max_call_participants=3,
    )


@dataclasses.dataclass
class Meeting:
    """A meeting visit with its host's socket and the citizen's tablet."""

    visit_id: int
    host: Sock
    kiosk: Sock
    tokens: list[str]
    invite_ids: list[str]
    host_client: Client


async def meeting(new_client: NewClient, settings: Settings, invites: int = 1) -> Meeting:
    """Karen's meeting: anna invites ``invites`` guests; anna's and the tablet's sockets."""
    visit = await seed.meeting(settings)
    host_client = await new_client()
    host = await staff_socket(host_client, "anna")
    tokens, invite_ids = [], []
    for n in range(invites):
        response = await host_client.post(
            f"/api/visits/{visit}/invites",
            json={"kind": "guest", "name": f"Gæst {n + 1}"},
            headers=await csrf(host_client),
        )
        assert response.status == 201
        created = await response.json()
        tokens.append(created["url"].rsplit("/", 1)[1])
        invite_ids.append(str(created["invite"]["id"]))
    kiosk = await kiosk_socket(await new_client(), settings, KAREN_KIOSK)
    return Meeting(visit, host, kiosk, tokens, invite_ids, host_client)


async def start_call(m: Meeting, *, waiting: list[dict[str, Any]] | None = None) -> str:
    """The host rings the tablet for the meeting and the tablet answers; the call id. Knocks
    of guests already waiting (heard right after the ringing call-state) go to ``waiting``."""
    await m.host.send(type="ring", id=5, citizen_id="1", visit_id=str(m.visit_id))
    ringing = await m.host.expect("call-state")
    if waiting is not None:
        waiting.append(await m.host.expect("knock"))
    await m.kiosk.expect("ring")
    await m.kiosk.send(type="accept", call_id=ringing["call_id"])
    await m.host.expect("call-state")
    await m.kiosk.expect("call-state")
    return str(ringing["call_id"])


async def guest(new_client: NewClient, token: str, name: str = "Ida") -> Sock:
    """A guest's browser: opens the join page (device cookie), then says hello with the invite."""
    client = await new_client()
    assert (await client.get(f"/join/{token}")).status == 200
    return await open_socket(client, {"invite": token, "name": name})


async def error_of(sock: Sock, **message: Any) -> str:
    """Send and return the error code the server answers."""
    await sock.send(id=9, **message)
    return str((await sock.expect("error"))["code"])


async def test_guest_knocks_is_admitted_offers_and_is_removed(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Knock → admit → the guest is a participant (peer-joined, relayed offer) → remove."""
    m = await meeting(new_client, signaling_settings)
    call_id = await start_call(m)
    ida = await guest(new_client, m.tokens[0])
    assert ida.welcome["identity"]["kind"] == "guest"
    knock = await m.host.expect("knock")
    assert knock["name"] == "Ida" and knock["invited_as"] == "Gæst 1"
    assert knock["call_id"] == call_id and knock["another_device"] is False
    await m.host.send(type="admit", lobby_id=knock["lobby_id"])
    assert (await ida.expect("admitted"))["call_id"] == call_id
    state = await ida.expect("call-state")
    assert state["state"] == "active" and len(state["peers"]) == 3
    joined = await m.host.expect("peer-joined")
    assert joined["peer"] == (await m.kiosk.expect("peer-joined"))["peer"]
    assert joined["peer"]["kind"] == "guest" and joined["peer"]["name"] == "Ida"
    assert (await m.host.expect("lobby-left"))["reason"] == "admitted"
    await ida.send(type="offer", call_id=call_id, to=m.host.peer_id, sdp="v=0 (test)")
    assert (await m.host.expect("offer"))["from"] == ida.peer_id
    await m.host.send(type="remove", call_id=call_id, peer_id=ida.peer_id)
    assert (await ida.expect("removed"))["call_id"] == call_id
    assert await ida.closed_with() == 1000
    assert (await m.kiosk.expect("peer-left"))["peer_id"] == ida.peer_id
    assert (await m.host.expect("peer-left"))["peer_id"] == ida.peer_id
    actions = await seed.audit_actions(signaling_settings)
    assert actions[-3:] == ["invite.knock", "invite.admit", "invite.remove"]


async def test_guest_waits_for_the_call_may_do_nothing_else_and_is_denied(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A guest who knocks early waits; the host hears it on ringing; deny sends it away."""
    m = await meeting(new_client, signaling_settings)
    ida = await guest(new_client, m.tokens[0])
    assert await error_of(ida, type="ring", citizen_id="1") == "forbidden"
    assert await error_of(ida, type="presence-subscribe", citizen_ids=["1"]) == "forbidden"
    assert await error_of(ida, type="invite", call_id="c1", user_id="1") == "forbidden"
    assert await error_of(ida, type="admit", lobby_id="nobody") == "forbidden"
    knocks: list[dict[str, Any]] = []
    call_id = await start_call(m, waiting=knocks)
    knock = knocks[0]  # heard on entering the call
    assert knock["call_id"] == call_id
    offer = {"type": "offer", "call_id": call_id, "to": m.host.peer_id, "sdp": "v=0"}
    assert await error_of(ida, **offer) == "not_member"
    assert await error_of(m.host, type="admit", lobby_id="nobody") == "unknown_guest"
    await m.host.send(type="deny", lobby_id=knock["lobby_id"])
    await ida.expect("denied")
    assert await ida.closed_with() == 1000
    assert (await m.host.expect("lobby-left"))["reason"] == "denied"


async def test_second_device_capacity_and_the_host_ends_the_meeting(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Another device is marked; a bad token is refused; a full call answers room_full;
    when the host hangs up, the guest hears call-ended."""
    m = await meeting(new_client, signaling_settings, invites=2)
    call_id = await start_call(m)
    refused = await (await new_client()).ws_connect("/ws")
    await refused.send_json({"type": "hello", "version": ["1"], "invite": "x" * 43})
    assert (await refused.receive_json())["code"] == "forbidden"
    assert await Sock(refused, {}).closed_with() == 1008
    ida = await guest(new_client, m.tokens[0])
    first = await m.host.expect("knock")
    ida_phone = await open_socket(await new_client(), {"invite": m.tokens[0], "name": "Ida"})
    second = await m.host.expect("knock")
    assert (first["another_device"], second["another_device"]) == (False, True)
    await m.host.send(type="admit", lobby_id=first["lobby_id"])
    await ida.expect("admitted")
    await ida.expect("call-state")
    await m.host.expect("peer-joined")
    await m.host.expect("lobby-left")
    assert await error_of(m.host, type="admit", lobby_id=second["lobby_id"]) == "room_full"
    remove_host = {"type": "remove", "call_id": call_id, "peer_id": m.kiosk.peer_id}
    assert await error_of(m.host, **remove_host) == "forbidden"
    await m.host.send(type="hangup", call_id=call_id)
    ended = await ida.expect("call-ended")
    assert ended["reason"] == "hangup" and ended["by"] == m.host.peer_id
    await ida_phone.ws.close()


async def test_a_revoked_invite_takes_its_guest_out_of_the_call_and_the_lobby(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Revoking Ida's invite: her seat in the call goes (removed, peer-left for the others) and
    her second device waiting in the lobby is sent away (denied, lobby-left for the host)."""
    m = await meeting(new_client, signaling_settings)
    call_id = await start_call(m)
    ida = await guest(new_client, m.tokens[0])
    await m.host.send(type="admit", lobby_id=(await m.host.expect("knock"))["lobby_id"])
    await ida.expect("admitted")
    await ida.expect("call-state")
    await m.host.expect("peer-joined")
    await m.kiosk.expect("peer-joined")
    await m.host.expect("lobby-left")
    ida_phone = await open_socket(await new_client(), {"invite": m.tokens[0], "name": "Ida"})
    await m.host.expect("knock")
    response = await m.host_client.delete(
        f"/api/invites/{m.invite_ids[0]}", headers=await csrf(m.host_client)
    )
    assert response.status == 200
    assert (await ida.expect("removed"))["call_id"] == call_id
    assert await ida.closed_with() == 1000
    await ida_phone.expect("denied")
    assert await ida_phone.closed_with() is not None  # closed by the server, for good
    assert (await m.host.expect("lobby-left"))["reason"] == "denied"  # the lobby goes first
    assert (await m.host.expect("peer-left"))["peer_id"] == ida.peer_id
    assert (await m.kiosk.expect("peer-left"))["peer_id"] == ida.peer_id


async def admitted_guest(new_client: NewClient, m: Meeting) -> tuple[Client, Sock]:
    """Ida knocks and the host lets her in; her browser (cookies) and her socket."""
    client = await new_client()
    assert (await client.get(f"/join/{m.tokens[0]}")).status == 200
    ida = await open_socket(client, {"invite": m.tokens[0], "name": "Ida"})
    await m.host.send(type="admit", lobby_id=(await m.host.expect("knock"))["lobby_id"])
    await ida.expect("admitted")
    await ida.expect("call-state")
    await m.host.expect("peer-joined")
    await m.kiosk.expect("peer-joined")
    await m.host.expect("lobby-left")
    return client, ida


async def quiet(sock: Sock) -> None:
    """Nothing but notifications is queued for ``sock``: a ping's pong comes next."""
    await sock.send(type="ping", id=77)
    assert (await sock.expect("pong"))["ref"] == 77


async def test_a_guest_whose_socket_drops_takes_her_seat_back_within_the_grace(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Ida's phone loses its socket mid-meeting: the others see her as disconnected (not
    gone); she says hello again with her invite and resume token and is back in the call under
    a new peer id, without a second knock, and offers to the host again."""
    m = await meeting(new_client, signaling_settings)
    call_id = await start_call(m)
    client, ida = await admitted_guest(new_client, m)
    await ida.ws.close()  # no hangup: the network went
    dropped = await m.host.expect("peer-disconnected")
    assert dropped["peer_id"] == ida.peer_id and dropped["grace_s"] == 2
    assert (await m.kiosk.expect("peer-disconnected"))["peer_id"] == ida.peer_id
    resume = {"call_id": call_id, "resume_token": ida.welcome["resume_token"]}
    back = await open_socket(client, {"invite": m.tokens[0], "name": "Ida", "resume": resume})
    assert back.welcome["resumed"]["you"] == back.peer_id != ida.peer_id
    assert len(back.welcome["resumed"]["peers"]) == 3
    reconnected = await m.host.expect("peer-reconnected")
    assert reconnected["old_peer_id"] == ida.peer_id
    assert reconnected["peer"]["peer_id"] == back.peer_id
    assert reconnected["peer"]["kind"] == "guest"
    await quiet(m.host)  # no knock: she never went back to the lobby
    await back.send(type="offer", call_id=call_id, to=m.host.peer_id, sdp="v=0 (test)")
    assert (await m.host.expect("offer"))["from"] == back.peer_id


async def test_a_guest_back_after_the_grace_knocks_again(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Ida comes back after her seat's grace ran out: the host saw her leave
    (connection_lost); her resume fails (welcome, then not_member) and she waits in the lobby
    again, where the host hears her knock and may let her in."""
    m = await meeting(new_client, signaling_settings)
    call_id = await start_call(m)
    client, ida = await admitted_guest(new_client, m)
    await ida.ws.close()
    await m.host.expect("peer-disconnected")
    left = await m.host.expect("peer-left", wait_s=10)
    assert left["peer_id"] == ida.peer_id and left["reason"] == "connection_lost"
    resume = {"call_id": call_id, "resume_token": ida.welcome["resume_token"]}
    back = await open_socket(client, {"invite": m.tokens[0], "name": "Ida", "resume": resume})
    assert back.welcome["resumed"] is None
    failed = await back.expect("error")
    assert failed["code"] in {"not_member", "unknown_call"} and failed["ref"] == 1
    knock = await m.host.expect("knock")
    assert knock["name"] == "Ida" and knock["another_device"] is False
    await m.host.send(type="admit", lobby_id=knock["lobby_id"])
    assert (await back.expect("admitted"))["call_id"] == call_id
    assert len((await back.expect("call-state"))["peers"]) == 3


async def test_a_denied_invite_may_not_knock_again_for_a_while(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """After deny, Ida's invite is refused at once (forbidden, 1008; her join page says the
    host did not let her in; audited) and the host hears no knock; another invite still
    knocks."""
    m = await meeting(new_client, signaling_settings, invites=2)
    await start_call(m)
    ida_client = await new_client()
    assert (await ida_client.get(f"/join/{m.tokens[0]}")).status == 200
    ida = await open_socket(ida_client, {"invite": m.tokens[0], "name": "Ida"})
    await m.host.send(type="deny", lobby_id=(await m.host.expect("knock"))["lobby_id"])
    await ida.expect("denied")
    assert (await m.host.expect("lobby-left"))["reason"] == "denied"

    again = await ida_client.ws_connect("/ws")
    hello = {"type": "hello", "id": 1, "version": ["1"], "invite": m.tokens[0], "name": "Ida"}
    await again.send_json(hello)
    refused = await again.receive_json()
    assert refused["code"] == "forbidden" and "did not let you in" in refused["message"]
    assert await Sock(again, {}).closed_with() == 1008
    page = await ida_client.get(f"/join/{m.tokens[0]}")
    assert page.status == 403 and "Du blev ikke lukket ind" in await page.text()
    actions = await seed.audit_actions(signaling_settings)
    assert actions[-3:] == ["invite.deny", "invite.refused", "invite.refused"]

    bo = await guest(new_client, m.tokens[1], name="Bo")
    assert (await m.host.expect("knock"))["name"] == "Bo"  # not Ida's: hers never came
    await bo.ws.close()


async def test_a_deny_holds_for_guest_denied_s_then_lapses() -> None:
    """The lobby remembers a deny per invite for the given time, and only that invite."""
    lobby = LocalLobby()
    await lobby.turn_away(7, 0.2)
    assert await lobby.turned_away(7) and not await lobby.turned_away(8)
    await asyncio.sleep(0.3)
    assert not await lobby.turned_away(7)
