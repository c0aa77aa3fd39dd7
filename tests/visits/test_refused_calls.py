"""A decline on the tablet, as the nurse meets it: the day list says how the last call ended,
and under the "ask the team" policy the team's inbox asks whether to ring again until an outcome
answers it (the real server, a real kiosk socket, the real ladder)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.models import InboxItem, Organisation, utcnow
from server.scheduling.jobs import scheduler_for
from server.settings import Settings
from server.vocabulary import InboxKind, InboxState
from tests.conftest import ClientFactory
from tests.databases import transaction
from tests.signaling.test_handler import KAREN
from tests.signaling.test_leases import karens_reassurance_call
from tests.signaling.wsclient import kiosk_socket, staff_socket
from tests.visits.test_inbox_api import app, get, post, server, staff

__all__ = ["app", "server"]  # the fixtures this module uses from the inbox tests


async def test_declined_on_the_tablet_asks_the_team_and_shows_in_the_day_list(
    demo: Settings, server: TestServer, aiohttp_client: ClientFactory
) -> None:
    """Karen presses "Afvis": the day list says so (not "not answered" alone), the inbox asks
    whether to ring again, and recording the outcome closes the question."""
    async with transaction(demo.database_url) as session:
        org = await session.scalar(select(Organisation))
        assert org is not None
        org.settings = {**(org.settings or {}), "tablet_refusal": "ask"}
    visit_id = await karens_reassurance_call(demo)
    anna = await staff(aiohttp_client, server, "anna")
    nurse = await staff_socket(await aiohttp_client(server), "anna")
    kiosk = await kiosk_socket(await aiohttp_client(server), demo, KAREN)
    await nurse.send(type="ring", citizen_id="1", visit_id=str(visit_id))
    await nurse.expect("call-state")
    ring = await kiosk.expect("ring")
    await kiosk.send(type="decline", call_id=ring["call_id"])
    ended = await nurse.expect("call-ended")
    assert ended["reason"] == "declined" and ended["by"] == kiosk.peer_id

    rows = await (await anna.get("/today/rows")).text()
    assert 'data-last-call="declined"' in rows and "Afvist på tabletten" in rows

    await scheduler_for(server.app).tick(utcnow())
    items = (await get(anna, "/api/inbox"))["items"]
    (question,) = [i for i in items if i["visit_id"] == visit_id]
    assert question["kind"] == "declined_call" and question["state"] == "open"

    body = {"kind": "declined", "reason": "Karen ville ikke i dag"}
    status, _ = await post(anna, f"/api/visits/{visit_id}/outcome", body)
    assert status in (200, 201)
    async with transaction(demo.database_url) as session:
        item = await session.scalar(
            select(InboxItem).where(
                InboxItem.visit_id == visit_id, InboxItem.kind == InboxKind.DECLINED_CALL
            )
        )
        assert item is not None and item.state is InboxState.DONE
