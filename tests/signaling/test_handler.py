"""The signalling endpoint through the real server: handshake, calls, errors, cleanup."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import WSMsgType, web
from sqlalchemy import select, update

from server.keys import book_key, websockets_key
from server.models import AuditEvent, Call, Visit, VisitType, utcnow
from server.rooms.local_book import LocalBook
from server.settings import Settings
from server.signaling import hub_key
from tests.conftest import ClientFactory
from tests.databases import transaction
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import kiosk_socket, open_socket, staff_socket

KAREN, POUL = 0, 1  # demo citizen indexes: Karen (id 1) in Team Nord, Poul (id 2) in Team Syd


def assert_idle(app: web.Application) -> None:
    """No call, peer, socket or timer is left behind."""
    hub, book = app[hub_key], app[book_key]
    assert isinstance(book, LocalBook) and book.idle()
    assert hub.peers == {} and hub.timer_keys == frozenset()
    assert len(app[websockets_key]) == 0


async def karens_medication_visit(settings: Settings, in_minutes: int = 0) -> int:
    """A medication visit for Karen (Team Nord), planned ``in_minutes`` from now; its id."""
    async with transaction(settings.database_url) as session:
        medication = await session.scalar(select(VisitType).where(VisitType.code == "medication"))
        assert medication is not None
        visit = Visit(
            citizen_id=1,
            visit_type_id=medication.id,
            team_id=1,
            planned_at=utcnow() + dt.timedelta(minutes=in_minutes),
            window_min=15,
        )
        session.add(visit)
        await session.flush()
        return visit.id


async def settle(app: web.Application) -> None:
    """Give the server a moment to run its close handlers."""
    for _ in range(50):
        if not app[hub_key].peers and not app[websockets_key]:
            return
        await asyncio.sleep(0.02)


async def test_handshake_staff_and_kiosk_get_welcome(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """Staff by cookie and kiosks by token are welcomed with identity and settings."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    assert nurse.welcome["identity"] == {
        "kind": "staff",
        "id": nurse.welcome["identity"]["id"],
        "name": "Anna Jensen",
        "role": "nurse",
        "citizen_id": None,
    }
    assert kiosk.welcome["identity"]["citizen_id"] == "1"
    assert kiosk.welcome["ring_timeout_s"] == 2 and kiosk.welcome["ice_servers"] == []
    await nurse.ws.close()
    await kiosk.ws.close()
    await settle(app)
    assert_idle(app)


async def test_messages_before_hello_are_refused(new_client: NewClient) -> None:
    """Anything before hello gets not_authenticated and the socket stays open."""
    ws = await (await new_client()).ws_connect("/ws")
    await ws.send_json({"type": "ring", "id": 7, "citizen_id": "1"})
    reply = await ws.receive_json(timeout=5)
    assert reply == {
        "type": "error",
        "code": "not_authenticated",
        "message": "send hello first",
        "ref": 7,
    }
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=5))["code"] == "not_authenticated"
    await ws.close()


async def test_no_hello_in_time_closes_1008(new_client: NewClient) -> None:
    """A socket that never says hello is closed with a policy violation."""
    ws = await (await new_client()).ws_connect("/ws")
    msg = await ws.receive(timeout=5)
    assert msg.type is WSMsgType.CLOSE and msg.data == 1008


async def test_hello_without_credentials_closes_1008(new_client: NewClient) -> None:
    """No cookie and no token: not_authenticated, then closed."""
    ws = await (await new_client()).ws_connect("/ws")
    await ws.send_json({"type": "hello", "version": ["1"]})
    assert (await ws.receive_json(timeout=5))["code"] == "not_authenticated"
    assert (await ws.receive(timeout=5)).data == 1008


async def test_revoked_or_unknown_token_is_forbidden(new_client: NewClient) -> None:
    """A token that matches no enrolled tablet is refused and the socket closed."""
    ws = await (await new_client()).ws_connect("/ws")
    await ws.send_json({"type": "hello", "version": ["1"], "token": "x" * 40})
    assert (await ws.receive_json(timeout=5))["code"] == "forbidden"
    assert (await ws.receive(timeout=5)).data == 1008


async def test_unsupported_version_closes_1002(new_client: NewClient) -> None:
    """No common protocol version ends the socket with a protocol error."""
    ws = await (await new_client()).ws_connect("/ws")
    await ws.send_json({"type": "hello", "version": ["9"], "token": "x" * 40})
    assert (await ws.receive_json(timeout=5))["code"] == "unsupported_version"
    assert (await ws.receive(timeout=5)).data == 1002


async def test_bad_frames_get_stable_errors(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Malformed JSON, unknown types and bad fields get errors; the socket stays open."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.send_str("{not json")
    assert (await kiosk.next())["code"] == "invalid_message"
    await kiosk.send(type="teleport", id=3)
    assert await kiosk.next() == {
        "type": "error",
        "code": "unknown_type",
        "message": "unknown message type",
        "ref": 3,
    }
    await kiosk.send(type="offer", id=4, call_id="c", to="p", sdp="v=0", **{"from": "forged"})
    error = await kiosk.next()
    assert error["code"] == "invalid_message" and error["ref"] == 4
    await kiosk.send(type="hello", id=5, version=["1"])
    assert (await kiosk.next())["code"] == "invalid_state"
    await kiosk.send(type="ping", id=6)
    assert await kiosk.next() == {"type": "pong", "ref": 6}


async def test_binary_frame_closes_1003(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Binary frames are not part of the protocol."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.send_bytes(b"\x00\x01")
    assert await kiosk.closed_with() == 1003


async def test_oversized_frame_closes_1009(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A frame over 64 KiB closes the socket with message-too-big."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.ws.send_str('{"type":"ping","pad":"' + "x" * 70_000 + '"}')
    assert await kiosk.closed_with() == 1009


async def test_frame_of_exactly_64_kib_is_read_and_one_byte_more_closes(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """The limit is inclusive, as PROTOCOL.md says: "at most 64 KiB"."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    head, tail = '{"type":"ping","id":9,"pad":"', '"}'
    frame = head + "x" * (64 * 1024 - len(head) - len(tail)) + tail
    assert len(frame.encode()) == 64 * 1024
    await kiosk.ws.send_str(frame)
    refused = await kiosk.expect("error")  # read and refused (no such field), socket open
    assert refused["code"] == "invalid_message" and refused["ref"] == 9
    await kiosk.ws.send_str(frame[:-2] + 'x"}')
    assert await kiosk.closed_with() == 1009


async def test_wrong_origin_is_rejected(new_client: NewClient) -> None:
    """A cross-site page may not open the socket."""
    client = await new_client()
    response = await client.get(
        "/ws",
        headers={
            "Origin": "https://evil.example",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403


async def test_ring_decline(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """A ring reaches the kiosk with the caller's face; declining ends it for both."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", id=9, citizen_id="1")
    state = await nurse.expect("call-state")
    assert state["state"] == "ringing" and state["ref"] == 9
    ring = await kiosk.expect("ring")
    assert ring["caller"]["name"] == "Anna Jensen" and ring["caller"]["role"] == "nurse"
    assert ring["call_id"] == state["call_id"] and ring["expires_in_s"] == 2
    await kiosk.send(type="decline", call_id=ring["call_id"])
    for sock in (nurse, kiosk):
        ended = await sock.expect("call-ended")
        assert ended["reason"] == "declined" and ended["by"] == kiosk.peer_id
    async with transaction(signaling_settings.database_url) as session:
        call = await session.scalar(select(Call).where(Call.public_id == ring["call_id"]))
        assert call is not None and call.end_reason == "declined" and call.ended_at
    await nurse.ws.close()
    await kiosk.ws.close()
    await settle(app)
    assert_idle(app)


async def test_ring_timeout_ends_unanswered(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Nobody answers: after the ring timeout both sides get no_answer."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1")
    await nurse.expect("call-state")
    await kiosk.expect("ring")
    assert (await kiosk.expect("call-ended", wait_s=5))["reason"] == "no_answer"
    assert (await nurse.expect("call-ended"))["reason"] == "no_answer"


async def test_caller_cancels(new_client: NewClient, signaling_settings: Settings) -> None:
    """The caller withdraws the ring before it is answered."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1")
    call_id = (await nurse.expect("call-state"))["call_id"]
    await kiosk.expect("ring")
    await nurse.send(type="cancel", call_id=call_id)
    assert (await kiosk.expect("call-ended"))["reason"] == "cancelled"
    assert (await nurse.expect("call-ended"))["reason"] == "cancelled"


async def test_kiosk_may_not_ring(new_client: NewClient, signaling_settings: Settings) -> None:
    """Staff-only messages from a kiosk are forbidden; the socket stays open."""
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk.send(type="ring", id=2, citizen_id="1")
    assert (await kiosk.next())["code"] == "forbidden"
    await kiosk.send(type="presence-subscribe", id=3, citizen_ids=["1"])
    assert (await kiosk.next())["code"] == "forbidden"
    await kiosk.send(type="ping", id=4)
    assert (await kiosk.next())["type"] == "pong"


async def test_nurse_outside_scope_is_forbidden_and_audited(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A Team Nord nurse ringing a Team Syd citizen is refused, and that is audited."""
    nurse = await staff_socket(await new_client(), "anna")
    await kiosk_socket(await new_client(), signaling_settings, POUL)
    await nurse.send(type="ring", id=2, citizen_id="2")
    assert (await nurse.expect("error"))["code"] == "forbidden"
    await nurse.send(type="ring", id=3, citizen_id="999")
    assert (await nurse.expect("error"))["code"] == "forbidden"
    async with transaction(signaling_settings.database_url) as session:
        denied = await session.scalars(
            select(AuditEvent.subject_id).where(AuditEvent.action == "call.ring_denied")
        )
        assert list(denied) == ["2", "999"]


async def test_ring_offline_and_busy(new_client: NewClient, signaling_settings: Settings) -> None:
    """An offline tablet gives offline; a citizen already in a call gives busy."""
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="ring", id=1, citizen_id="1")
    assert (await nurse.expect("error"))["code"] == "offline"
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", id=2, citizen_id="1")
    await nurse.expect("call-state")
    carla = await staff_socket(await new_client(), "carla")
    await carla.send(type="ring", id=3, citizen_id="1")
    assert (await carla.expect("error"))["code"] == "busy"


async def test_relay_checks_membership(new_client: NewClient, signaling_settings: Settings) -> None:
    """Relays need both ends in the call; the server stamps from."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    outsider = await staff_socket(await new_client(), "carla")
    await nurse.send(type="ring", citizen_id="1")
    call_id = (await nurse.expect("call-state"))["call_id"]
    await kiosk.expect("ring")
    await kiosk.send(type="accept", call_id=call_id)
    await kiosk.expect("call-state")
    await kiosk.send(type="offer", id=5, call_id=call_id, to="nobody", sdp="v=0")
    assert (await kiosk.expect("error"))["code"] == "unknown_peer"
    await outsider.send(type="offer", id=6, call_id=call_id, to=nurse.peer_id, sdp="v=0")
    assert (await outsider.expect("error"))["code"] == "not_member"
    await kiosk.send(type="candidate", call_id=call_id, to=nurse.peer_id, candidate=None)
    await nurse.expect("call-state")
    relayed = await nurse.expect("candidate")
    assert relayed == {
        "type": "candidate",
        "call_id": call_id,
        "from": kiosk.peer_id,
        "candidate": None,
    }


async def test_presence_follows_kiosks(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """Staff see their citizens' tablets come online and go offline; others are hidden."""
    nurse = await staff_socket(await new_client(), "anna")
    await nurse.send(type="presence-subscribe", id=1, citizen_ids=["1", "2", "3"])
    snapshot = await nurse.next()
    assert [e["citizen_id"] for e in snapshot["entries"]] == ["1", "3"]
    assert not any(e["online"] for e in snapshot["entries"])
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    online = await nurse.next()
    assert online["entries"][0]["citizen_id"] == "1" and online["entries"][0]["online"]
    await kiosk.ws.close()
    offline = await nurse.next()
    assert not offline["entries"][0]["online"] and offline["entries"][0]["last_seen"]
    await nurse.ws.close()
    await settle(app)
    assert_idle(app)


async def test_auto_answer_only_within_consented_visit(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Karen consented: a ring inside her visit window carries the countdown; outside, none."""
    await karens_medication_visit(signaling_settings, in_minutes=5)
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1")
    ring = await kiosk.expect("ring")
    assert ring["auto_answer_after_s"] == 10 and ring["visit_type"] == "medication"
    await nurse.send(type="cancel", call_id=ring["call_id"])
    await kiosk.expect("call-ended")
    await nurse.expect("call-state")
    await nurse.expect("call-ended")
    async with transaction(signaling_settings.database_url) as session:  # Inger: no visit now
        later = utcnow() + dt.timedelta(hours=12)  # (the demo day may have one at this hour)
        await session.execute(update(Visit).where(Visit.citizen_id == 3).values(planned_at=later))
    other = await kiosk_socket(await new_client(), signaling_settings, 2)
    await nurse.send(type="ring", citizen_id="3")
    assert (await other.expect("ring"))["auto_answer_after_s"] is None


async def test_shutdown_closes_sockets_going_away(
    aiohttp_client: ClientFactory,
    signaling_settings: Settings,
) -> None:
    """On shutdown every signalling socket is closed with 1001 so clients reconnect."""
    from server.app import create_app

    app = create_app(signaling_settings)
    client = await aiohttp_client(app)
    kiosk = await kiosk_socket(client, signaling_settings, KAREN)
    await app.shutdown()
    assert await kiosk.closed_with() == 1001


async def test_visit_follows_the_call_live(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Ringing, answering and declining move the visit's status; the team sees it live."""
    visit_id = await karens_medication_visit(signaling_settings)
    nurse = await staff_socket(await new_client(), "anna")
    colleague = await staff_socket(await new_client(), "carla")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1", visit_id=str(visit_id))
    ring = await kiosk.expect("ring")
    update = await colleague.expect("visit-updated")
    assert update == {
        "type": "visit-updated",
        "visit_id": str(visit_id),
        "citizen_id": "1",
        "team_id": "1",
        "status": "ringing",
    }
    await kiosk.send(type="decline", call_id=ring["call_id"])
    assert (await colleague.expect("visit-updated"))["status"] == "not_answered"
    async with transaction(signaling_settings.database_url) as session:
        stored = await session.get(Visit, visit_id)
        assert stored is not None and stored.status.value == "not_answered"


async def test_carer_may_not_take_a_medication_visit(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Medication is delegated nursing: a carer's ring for that visit is forbidden."""
    visit_id = await karens_medication_visit(signaling_settings)
    carer = await staff_socket(await new_client(), "carla")
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await carer.send(type="ring", id=4, citizen_id="1", visit_id=str(visit_id))
    error = await carer.expect("error")
    assert error["code"] == "forbidden" and "nurse" in error["message"]


async def test_organisation_ring_timeout_wins(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """An administrator's ring timeout for the organisation is what the tablet is told."""
    from server.models import Organisation

    async with transaction(signaling_settings.database_url) as session:
        org = await session.scalar(select(Organisation))
        assert org is not None
        org.settings = {**org.settings, "ring_timeout_s": 30}
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1")
    assert (await kiosk.expect("ring"))["expires_in_s"] == 30


async def test_logout_closes_that_sessions_sockets(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """After logging out, the console tab of that login can ring nobody: its socket closes."""
    client = await new_client()
    nurse = await staff_socket(client, "anna")
    other_device = await staff_socket(await new_client(), "anna")
    token = (await (await client.get("/api/me")).json())["csrf_token"]
    response = await client.post("/logout", headers={"X-CSRF-Token": token}, allow_redirects=False)
    assert response.status == 303
    assert await nurse.closed_with() == 1008
    await other_device.send(type="ping", id=1)
    assert (await other_device.expect("pong"))["ref"] == 1


async def test_expired_login_cannot_ring(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A socket whose login was removed (expiry, deactivation) is refused and closed on ring."""
    from sqlalchemy import delete

    from server.models import StaffSession

    nurse = await staff_socket(await new_client(), "anna")
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    async with transaction(signaling_settings.database_url) as session:
        await session.execute(delete(StaffSession))
    await nurse.send(type="ring", id=3, citizen_id="1")
    assert (await nurse.expect("error"))["code"] == "not_authenticated"
    assert await nurse.closed_with() == 1008


async def test_one_call_per_nurse_across_tabs(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A second tab of the same nurse cannot ring another citizen while she is in a call."""
    client = await new_client()
    first_tab = await staff_socket(client, "anna")
    second_tab = await open_socket(client)
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await kiosk_socket(await new_client(), signaling_settings, 2)
    await first_tab.send(type="ring", citizen_id="1")
    await first_tab.expect("call-state")
    await second_tab.send(type="ring", id=8, citizen_id="3")
    assert (await second_tab.expect("error"))["code"] == "busy"


async def test_deactivation_closes_every_socket_of_that_person(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """An administrator deactivating a nurse closes her open consoles at once."""
    nurse = await staff_socket(await new_client(), "anna")
    admin = await new_client()
    await staff_socket(admin, "admin")
    token = (await (await admin.get("/api/me")).json())["csrf_token"]
    anna_id = nurse.welcome["identity"]["id"]
    response = await admin.post(
        f"/api/admin/staff/{anna_id}/active",
        json={"active": False},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    assert await nurse.closed_with() == 1008


async def test_call_end_reaches_everyone_when_the_database_fails(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """If the end of a call cannot be written, the people in it are still told; nothing leaks."""
    from sqlalchemy import text

    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", citizen_id="1")
    await nurse.expect("call-state")
    ring = await kiosk.expect("ring")
    async with transaction(signaling_settings.database_url) as session:
        await session.execute(text("ALTER TABLE call_participant RENAME TO call_participant_gone"))
    await kiosk.send(type="decline", call_id=ring["call_id"])
    assert (await nurse.expect("call-ended"))["reason"] == "declined"
    assert (await kiosk.expect("call-ended"))["reason"] == "declined"
    await nurse.ws.close()
    await kiosk.ws.close()
    await settle(app)
    assert_idle(app)


async def test_carer_call_without_visit_is_not_the_medication_visit(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A carer may still ring during a medication window; the call is just not that visit."""
    await karens_medication_visit(signaling_settings)
    carer = await staff_socket(await new_client(), "carla")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await carer.send(type="ring", citizen_id="1")
    ring = await kiosk.expect("ring")
    assert ring["visit_id"] is None and ring["visit_type"] is None
