"""A relative rings the tablet from her call link: the kiosk hears who (name, relation) and is
never told to answer by itself; accept makes an active call; everything is checked again on
each ring (consent withdrawn, setting off: forbidden); she rings her own citizen only, may not
follow presence or invite, and rings at most three times in ten minutes."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from server.db import make_engine, make_sessionmaker
from server.models import AuditEvent, Call
from server.sealing import development_keyring
from server.settings import Settings
from tests.meetings.relative_call import allow_calls, call_consent, call_token, ida
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import Sock, kiosk_socket, open_socket

KAREN_KIOSK = 0  # demo citizen 1 (Karen); her daughter Ida


@pytest.fixture
def signaling_settings(demo: Settings) -> Settings:
    """Short timers (a ring that runs out is not waited for here)."""
    return dataclasses.replace(
        demo, ring_timeout_s=5, reconnect_grace_s=2, ws_auth_deadline_s=2.0, ws_heartbeat_s=5.0
    )


async def rows(settings: Settings) -> tuple[list[tuple[str | None, str]], list[Call]]:
    """The relative-call audit events (reason, action) under an organisation (the admin's log
    shows them) and the call rows, oldest first."""
    engine = make_engine(settings.database_url, keyring=development_keyring())
    try:
        async with make_sessionmaker(engine)() as session:
            events = await session.execute(
                select(AuditEvent.action, AuditEvent.detail, AuditEvent.organisation_id)
                .where(AuditEvent.action.like("relative_call.%"))
                .order_by(AuditEvent.id)
            )
            calls = await session.scalars(select(Call).order_by(Call.id))
            found = [(d.get("reason"), a) for a, d, org in events if org is not None]
            return found, list(calls)
    finally:
        await engine.dispose()


async def error_of(sock: Sock, **message: object) -> str:
    """Send and return the error code the server answers."""
    await sock.send(id=9, **message)
    return str((await sock.expect("error"))["code"])


async def test_relative_rings_kiosk_answers_and_she_hangs_up(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Ring → the kiosk's ring names Ida, her relation, no auto-answer → accept → hang up."""
    staff = await new_client()
    token = await call_token(staff, signaling_settings)
    ida_sock = await open_socket(await new_client(), {"link": token})
    identity = ida_sock.welcome["identity"]
    assert identity["kind"] == "guest" and identity["role"] == "relative"
    assert await error_of(ida_sock, type="presence-subscribe", citizen_ids=["1"]) == "forbidden"
    assert await error_of(ida_sock, type="ring", citizen_id="2") == "forbidden"
    assert await error_of(ida_sock, type="ring", citizen_id="1") == "offline"
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN_KIOSK)
    await ida_sock.send(type="ring", id=5, citizen_id="1")
    ringing = await ida_sock.expect("call-state")
    assert ringing["ref"] == 5 and ringing["state"] == "ringing"
    ring = await kiosk.expect("ring")
    assert ring["auto_answer_after_s"] is None and ring["visit_id"] is None
    caller = ring["caller"]
    assert (caller["kind"], caller["name"], caller["role"]) == ("guest", "Ida Sørensen", "relative")
    assert caller["relation"] == "datter"
    call_id = ring["call_id"]
    user = "1"  # anna's staff id does not matter: a relative never invites
    await kiosk.send(type="accept", call_id=call_id)
    assert (await ida_sock.expect("call-state"))["state"] == "active"
    assert (await kiosk.expect("call-state"))["state"] == "active"
    assert await error_of(ida_sock, type="invite", call_id=call_id, user_id=user) == "forbidden"
    await kiosk.send(type="offer", call_id=call_id, to=ida_sock.peer_id, sdp="v=0 (test)")
    assert (await ida_sock.expect("offer"))["from"] == kiosk.peer_id
    await ida_sock.send(type="hangup", call_id=call_id)
    ended = await kiosk.expect("call-ended")
    assert (ended["reason"], ended["by"]) == ("hangup", ida_sock.peer_id)
    events, calls = await rows(signaling_settings)
    assert events == [
        ("other_citizen", "relative_call.refused"),
        ("offline", "relative_call.refused"),
        (None, "relative_call.ring"),
    ]
    (call,) = calls
    assert call.caller_staff_id is None and call.answered_at is not None
    assert call.end_reason == "hangup" and call.auto_answer is False


async def test_each_ring_checks_consent_and_setting_again_and_is_rate_limited(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Consent withdrawn → forbidden; setting off → forbidden; back on: the fourth ring in ten
    minutes is rate_limited; a link with the setting off is refused at hello."""
    staff = await new_client()
    token = await call_token(staff, signaling_settings)
    relative = await ida(signaling_settings)
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN_KIOSK)
    sock = await open_socket(await new_client(), {"link": token})
    await call_consent(staff, relative, given=False)
    assert await error_of(sock, type="ring", citizen_id="1") == "forbidden"
    await call_consent(staff, relative)
    await allow_calls(staff, on=False)
    assert await error_of(sock, type="ring", citizen_id="1") == "forbidden"
    await allow_calls(staff)
    for _ in range(3):
        await sock.send(type="ring", id=5, citizen_id="1")
        assert (await sock.expect("call-state"))["state"] == "ringing"
        ring = await kiosk.expect("ring")
        await kiosk.send(type="decline", call_id=ring["call_id"])
        assert (await sock.expect("call-ended"))["reason"] == "declined"
        assert (await kiosk.expect("call-ended"))["reason"] == "declined"
    assert await error_of(sock, type="ring", citizen_id="1") == "rate_limited"
    await allow_calls(staff, on=False)
    refused = await (await new_client()).ws_connect("/ws")
    await refused.send_json({"type": "hello", "id": 1, "version": ["1"], "link": token})
    assert (await refused.receive_json(timeout=5))["code"] == "forbidden"
    await refused.close()
    events, _ = await rows(signaling_settings)
    reasons = [r for r, a in events if a == "relative_call.refused"]
    assert reasons == ["no_consent", "calls_off", "too_many", "calls_off"]
