"""Every visit ends in an outcome, whatever dies: refused rings are attempts, a graceful stop
ends its calls, and the calls of a process that is gone end as `server_lost` (through the real
server and its own database)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
import subprocess

from aiohttp import web
from sqlalchemy import select

from server.app import create_app
from server.models import AuditEvent, Call, Visit, VisitType, utcnow
from server.settings import Settings
from server.vocabulary import CallState, VisitStatus
from tests.conftest import ClientFactory, ServerFactory
from tests.databases import transaction
from tests.signaling.conftest import NewClient
from tests.signaling.test_handler import KAREN, karens_medication_visit
from tests.signaling.wsclient import kiosk_socket, staff_socket


async def karens_reassurance_call(settings: Settings) -> int:
    """A reassurance call for Karen (Team Nord) planned now, which a carer may make too."""
    async with transaction(settings.database_url) as session:
        vtype = await session.scalar(select(VisitType).where(VisitType.code == "reassurance"))
        assert vtype is not None
        visit = Visit(
            citizen_id=1, visit_type_id=vtype.id, team_id=1, planned_at=utcnow(), window_min=15
        )
        session.add(visit)
        await session.flush()
        return visit.id


async def calls_of(settings: Settings, visit_id: int) -> list[Call]:
    """The visit's call rows, oldest first."""
    async with transaction(settings.database_url) as session:
        rows = await session.scalars(
            select(Call).where(Call.visit_id == visit_id).order_by(Call.id)
        )
        return list(rows)


async def visit_status(settings: Settings, visit_id: int) -> VisitStatus:
    """The visit's stored status."""
    async with transaction(settings.database_url) as session:
        visit = await session.get(Visit, visit_id)
        assert visit is not None
        return visit.status


async def test_refused_rings_are_recorded_attempts(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Ringing an offline tablet, or a citizen already in a call, leaves an ended call row with
    its reason (an attempt the ladder sees) and an audit event; the nurse hears the refusal."""
    visit_id = await karens_reassurance_call(signaling_settings)
    anna = await staff_socket(await new_client(), "anna")
    await anna.send(type="ring", id=1, citizen_id="1", visit_id=str(visit_id))
    assert (await anna.expect("error"))["code"] == "offline"
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await anna.send(type="ring", id=2, citizen_id="1", visit_id=str(visit_id))
    await anna.expect("call-state")
    carla = await staff_socket(await new_client(), "carla")
    await carla.send(type="ring", id=3, citizen_id="1", visit_id=str(visit_id))
    assert (await carla.expect("error"))["code"] == "busy"

    offline, live, busy = await calls_of(signaling_settings, visit_id)
    assert (offline.state, offline.end_reason, offline.answered_at) == (
        CallState.ENDED,
        "offline",
        None,
    )
    assert (busy.state, busy.end_reason) == (CallState.ENDED, "busy")
    assert live.state is CallState.RINGING and live.owner and live.lease_until
    assert await visit_status(signaling_settings, visit_id) is VisitStatus.RINGING
    async with transaction(signaling_settings.database_url) as session:
        audited = await session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "call.refused")
        )
        assert sorted(d["reason"] for d in audited) == ["busy", "offline"]


async def test_graceful_stop_ends_its_calls_before_the_sockets_close(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    signaling_settings: Settings,
) -> None:
    """SIGTERM (the app's shutdown): everyone in a call hears `call-ended` (`connection_lost`,
    by nobody: the server) before the socket closes with 1001; the row says `server_lost` and
    the visit is open again for the ladder."""
    visit_id = await karens_medication_visit(signaling_settings)
    app = create_app(signaling_settings)
    server = await aiohttp_server(app)
    anna = await staff_socket(await aiohttp_client(server), "anna")
    kiosk = await kiosk_socket(await aiohttp_client(server), signaling_settings, KAREN)
    await anna.send(type="ring", citizen_id="1", visit_id=str(visit_id))
    call_id = (await anna.expect("call-state"))["call_id"]
    await kiosk.expect("ring")
    await app.shutdown()
    for sock in (anna, kiosk):
        ended = await sock.expect("call-ended")
        assert ended == {
            "type": "call-ended",
            "call_id": call_id,
            "reason": "connection_lost",
            "by": None,
        }
        assert await sock.closed_with() == 1001
    (call,) = await calls_of(signaling_settings, visit_id)
    assert (call.state, call.end_reason) == (CallState.ENDED, "server_lost")
    assert await visit_status(signaling_settings, visit_id) is VisitStatus.PLANNED


def dead_pid() -> int:
    """The pid of a process that has just exited (not reused this soon in practice)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


async def left_ringing(settings: Settings, visit_id: int, owner: str, lease_s: float) -> int:
    """A call row a process left ringing for the visit (which it had moved to ringing)."""
    now = utcnow()
    async with transaction(settings.database_url) as session:
        visit = await session.get(Visit, visit_id)
        assert visit is not None
        visit.status = VisitStatus.RINGING
        call = Call(
            public_id=f"c{visit_id}x{abs(hash(owner)) % 10_000}",
            citizen_id=1,
            visit_id=visit_id,
            caller_staff_id=1,
            state=CallState.RINGING,
            ring_started_at=now - dt.timedelta(seconds=5),
            owner=owner,
            lease_until=now + dt.timedelta(seconds=lease_s),
        )
        session.add(call)
        await session.flush()
        return call.id


async def test_calls_of_a_dead_process_end_at_start_up_and_on_the_timer(
    aiohttp_server: ServerFactory,
    signaling_settings: Settings,
) -> None:
    """At start-up, calls of a process on this host that no longer runs end at once, whatever
    their lease; a call of another host ends when its lease runs out (the renewal timer); the
    visits go back to the ladder and the ends are audited."""
    settings = dataclasses.replace(signaling_settings, call_lease_s=0.6)
    host = socket.gethostname()[:36]
    crashed_here = await karens_medication_visit(settings, in_minutes=1)
    elsewhere = await karens_medication_visit(settings, in_minutes=2)
    await left_ringing(settings, crashed_here, f"{host}:{dead_pid()}:tok1", lease_s=600)
    await left_ringing(settings, elsewhere, "another-host:4242:tok2", lease_s=1.5)

    app: web.Application = create_app(settings)
    await aiohttp_server(app)
    (here,) = await calls_of(settings, crashed_here)
    assert (here.state, here.end_reason) == (CallState.ENDED, "server_lost")
    assert await visit_status(settings, crashed_here) is VisitStatus.PLANNED
    (there,) = await calls_of(settings, elsewhere)
    assert there.state is CallState.RINGING  # another host may still hold it

    for _ in range(100):
        (there,) = await calls_of(settings, elsewhere)
        if there.state is CallState.ENDED:
            break
        await asyncio.sleep(0.05)
    assert (there.state, there.end_reason) == (CallState.ENDED, "server_lost")
    assert await visit_status(settings, elsewhere) is VisitStatus.PLANNED
    async with transaction(settings.database_url) as session:
        reasons = await session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "call.end")
        )
        assert [d["reason"] for d in reasons] == ["server_lost", "server_lost"]


async def test_own_live_calls_keep_their_lease(
    new_client: NewClient, signaling_settings: Settings, app: web.Application
) -> None:
    """A call this process holds is renewed, never reaped, however long it rings."""
    from server.signaling import hub_key
    from server.signaling.leases import reap

    visit_id = await karens_medication_visit(signaling_settings)
    anna = await staff_socket(await new_client(), "anna")
    await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await anna.send(type="ring", citizen_id="1", visit_id=str(visit_id))
    await anna.expect("call-state")
    (before,) = await calls_of(signaling_settings, visit_id)
    await asyncio.sleep(0.05)
    assert await reap(app[hub_key]) == 0
    (after,) = await calls_of(signaling_settings, visit_id)
    assert after.state is CallState.RINGING
    assert before.lease_until is not None and after.lease_until is not None
    assert after.lease_until > before.lease_until
