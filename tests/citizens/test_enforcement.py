"""The server does exactly what the register says: ringing needs the screen-visit consent,
auto-answer follows its windows and callers (through the real signalling server), and the
ladder's notice reaches only relatives who consented."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from server.citizens import consents, relatives
from server.models import Citizen, Notification, Organisation, Visit, VisitType, utcnow
from server.orgsettings import RetryLadder
from server.settings import Settings
from tests.conftest import Client, login
from tests.console.conftest import csrf
from tests.databases import transaction
from tests.scheduling.test_outcome_ladder import MIN, PLANNED, _call, _tick
from tests.scheduling.world import make_world
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import Sock, kiosk_socket, staff_socket

KAREN = 0  # demo kiosk index of Karen (citizen 1, Team Nord; anna and carla are her contacts)


async def writer(new_client: NewClient) -> Client:
    """A client logged in as the visitator, who records consents."""
    client = await new_client()
    assert await login(client, "vera") == 303
    return client


async def post(client: Client, path: str, body: object) -> dict[str, Any]:
    """POST JSON; the reply must be a success."""
    response = await client.post(path, json=body, headers=await csrf(client))
    reply: dict[str, Any] = await response.json()
    assert response.status in {200, 201}, reply
    return reply


async def karens_reassurance_visit(settings: Settings, in_minutes: int = 5) -> None:
    """A reassurance call for Karen planned ``in_minutes`` from now (any role may make it)."""
    async with transaction(settings.database_url) as session:
        vtype = await session.scalar(select(VisitType).where(VisitType.code == "reassurance"))
        assert vtype is not None
        planned = utcnow() + dt.timedelta(minutes=in_minutes)
        session.add(Visit(citizen_id=1, visit_type_id=vtype.id, team_id=1, planned_at=planned))


async def ring_countdown(caller: Sock, kiosk: Sock) -> int | None:
    """Ring Karen, read the countdown the tablet is given, and cancel the call."""
    await caller.send(type="ring", citizen_id="1")
    ring = await kiosk.expect("ring")
    await caller.expect("call-state")
    await caller.send(type="cancel", call_id=ring["call_id"])
    await kiosk.expect("call-ended")
    await caller.expect("call-ended")
    countdown: int | None = ring["auto_answer_after_s"]
    return countdown


async def test_ringing_needs_the_screen_visit_consent(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """With Karen's screen-visit consent withdrawn nobody may ring her; recorded again, they may."""
    vera = await writer(new_client)
    register = await (await vera.get("/api/citizens/1/consents")).json()
    screen = next(c for c in register["active"] if c["kind"] == "screen_visits")
    body = {"withdrawn_by": {"kind": "citizen"}}
    await post(vera, f"/api/consents/{screen['id']}/withdraw", body)
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    await nurse.send(type="ring", id=5, citizen_id="1")
    refused = await nurse.expect("error")
    assert (refused["code"], refused["ref"]) == ("forbidden", 5)
    record = {"kind": "screen_visits", "given_by": {"kind": "guardian", "name": "Hans Værge"}}
    await post(vera, "/api/citizens/1/consents", record)
    await nurse.send(type="ring", citizen_id="1")
    assert (await kiosk.expect("ring"))["citizen_id"] == "1"


async def test_auto_answer_follows_the_consents_callers(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """Callers: contact persons only. Anna (contact person) gets the countdown; Pia (on the
    team, not a contact person) just rings; with the team added, Pia gets it too."""
    await karens_reassurance_visit(signaling_settings)
    vera = await writer(new_client)
    scope: dict[str, Any] = {"callers": ["contact_persons"]}
    given = {"kind": "citizen"}
    await post(
        vera, "/api/citizens/1/consents", {"kind": "auto_answer", "given_by": given, "scope": scope}
    )
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    anna = await staff_socket(await new_client(), "anna")
    pia = await staff_socket(await new_client(), "pia")
    assert await ring_countdown(anna, kiosk) == 10
    assert await ring_countdown(pia, kiosk) is None
    scope = {"callers": ["contact_persons", "team"]}
    await post(
        vera, "/api/citizens/1/consents", {"kind": "auto_answer", "given_by": given, "scope": scope}
    )
    assert await ring_countdown(pia, kiosk) == 10


def _hhmm(local: dt.datetime, hours: int) -> str:
    return (local + dt.timedelta(hours=hours)).strftime("%H:%M")


async def test_auto_answer_only_inside_the_consents_windows(
    new_client: NewClient, signaling_settings: Settings
) -> None:
    """A window that holds now gives the countdown; one later in the day does not."""
    await karens_reassurance_visit(signaling_settings)
    local = utcnow().astimezone(signaling_settings.zone)
    now_window = {"start": _hhmm(local, -1), "end": _hhmm(local, 1)}
    later = {"start": _hhmm(local, 3), "end": _hhmm(local, 4)}
    vera = await writer(new_client)
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    anna = await staff_socket(await new_client(), "anna")
    for window, countdown in ((now_window, 10), (later, None)):
        scope = {"callers": ["contact_persons"], "windows": [window]}
        body = {"kind": "auto_answer", "given_by": {"kind": "citizen"}, "scope": scope}
        await post(vera, "/api/citizens/1/consents", body)
        assert await ring_countdown(anna, kiosk) == countdown, window


async def test_ladder_notifies_only_consenting_relatives(both_backends: str) -> None:
    """Of three relatives only the one with an active notice consent is told of the missed
    visit: not the one without it, nor the one removed after consenting."""
    url = both_backends
    author = consents.Author("test", audited=False)
    citizen_gives = consents.Giver(consents.GiverKind.CITIZEN)
    async with transaction(url) as session:
        world = await make_world(session)
        org = await session.get_one(Organisation, world.org_id)
        org.settings = {"retry_ladder": RetryLadder(retries=0, notify_relative=True).model_dump()}
        citizen = await session.get_one(Citizen, world.citizens[0])
        now = utcnow()
        told = relatives.PermissionChange({"be_notified": True}, citizen_gives)
        people = {}
        for name in ("Ida", "Mads", "Lene"):
            data = relatives.RelativeInput(name, "barn")
            people[name] = await relatives.add(session, author, citizen, data, now)
        await relatives.set_permissions(session, author, citizen, people["Ida"], told, now)
        await relatives.set_permissions(session, author, citizen, people["Lene"], told, now)
        await relatives.remove(session, author, citizen, people["Lene"], now)
        reassurance = world.types["reassurance"]
        visit = Visit(
            citizen_id=citizen.id,
            visit_type_id=reassurance,
            team_id=world.team_id,
            planned_at=PLANNED,
        )
        session.add(visit)
        await session.flush()
        visit_id, ida = visit.id, people["Ida"].id
    await _call(url, visit_id, PLANNED, PLANNED + MIN, answered=False)
    await _tick(url, PLANNED + 2 * MIN)
    async with transaction(url) as session:
        notified = list(await session.scalars(select(Notification.relative_id)))
    assert notified == [ida]
