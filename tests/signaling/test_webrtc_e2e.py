"""End to end through the real server: aiortc staff callers ring the headless kiosk agent."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Awaitable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kiosk.agent import AgentOptions, AnswerMode, KioskAgent
from kiosk.backoff import Backoff
from kiosk.caller import StaffCaller
from kiosk.peers import PeerLink
from server.demo import DEMO_PASSWORD, demo_kiosk_token
from server.keys import book_key, websockets_key
from server.settings import Settings
from server.signaling import hub_key
from server.signaling.messages import (
    CloseCode,
    PeerDisconnected,
    PeerLeft,
    PeerReconnected,
    ServerMessage,
)
from tests.polling import eventually
from tests.signaling.test_handler import assert_idle

pytestmark = pytest.mark.usefixtures("loopback_only_ice")

KAREN = 0  # demo citizen index 0: Karen (citizen id 1), Team Nord; anna and carla are hers
KAREN_ID = "1"
WAIT_S = 20.0  # generous: two cores shared with other test runs, Python-driven VP8


class RecordingCaller(StaffCaller):
    """A staff caller that keeps every membership message and the video count at that moment."""

    def __init__(self, server_url: str) -> None:
        super().__init__(server_url)
        self.seen: list[tuple[ServerMessage, int | None]] = []
        self.changed = asyncio.Event()

    async def on_message(self, message: ServerMessage) -> None:
        """Record, then behave as usual (before the call session drops a replaced link)."""
        frames = None
        gone = None
        if isinstance(message, PeerDisconnected):
            gone = message.peer_id
        elif isinstance(message, PeerReconnected):
            gone = message.old_peer_id
        if gone is not None and self.call is not None:
            link = self.call.peers.links.get(gone)
            frames = link.stats.video_frames if link is not None else None
        self.seen.append((message, frames))
        self.changed.set()
        await super().on_message(message)

    async def wait_for(self, kind: type[ServerMessage]) -> tuple[ServerMessage, int | None]:
        """The first recorded message of this type, waiting for it."""
        async with asyncio.timeout(WAIT_S):
            while True:
                for item in self.seen:
                    if isinstance(item[0], kind):
                        return item
                self.changed.clear()
                await self.changed.wait()


class LongestDelay(random.Random):
    """Backoff that always waits its full window, so a drop lasts a known minimum."""

    def uniform(self, a: float, b: float) -> float:
        """The upper bound."""
        return b


def base_url(server: TestServer) -> str:
    """The server's http base URL on loopback."""
    return str(server.make_url("")).rstrip("/")


async def within(awaitable: Awaitable[object], wait_s: float = WAIT_S) -> None:
    """Await with the suite's generous timeout."""
    async with asyncio.timeout(wait_s):
        await awaitable


@contextlib.asynccontextmanager
async def kiosk_agent(
    server: TestServer, settings: Settings, answer: AnswerMode = "always"
) -> AsyncIterator[KioskAgent]:
    """Karen's tablet as the headless agent, online until the block ends; then a clean exit."""
    async with aiohttp.ClientSession() as http:
        options = AgentOptions(answer=answer, answer_delay_s=0.0)
        agent = KioskAgent(http, base_url(server), demo_kiosk_token(settings, KAREN), options)
        task = asyncio.create_task(agent.run())
        try:
            await within(agent.client.authenticated.wait())
            yield agent
        finally:
            await agent.stop()
            async with asyncio.timeout(WAIT_S):
                assert await task == 0


@contextlib.asynccontextmanager
async def staff(server: TestServer, username: str) -> AsyncIterator[RecordingCaller]:
    """A logged-in staff member with an open signalling socket."""
    async with RecordingCaller(base_url(server)) as caller:
        await caller.login(username, DEMO_PASSWORD)
        await caller.connect()
        yield caller


async def all_gone(app: web.Application) -> None:
    """Wait for the server to close its side of every socket, then check nothing is left."""
    sockets = app[websockets_key]
    await eventually(lambda: not app[hub_key].peers and not sockets, "sockets left open")
    assert_idle(app)


def link_to(caller: StaffCaller | KioskAgent, peer_id: str) -> PeerLink:
    """The caller's media link to one remote peer of its current call."""
    assert caller.call is not None
    return caller.call.peers.links[peer_id]


async def test_call_video_flows_both_ways(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """The nurse rings, the agent answers, each side decodes the other's video, hang-up ends it."""
    async with kiosk_agent(server, signaling_settings) as agent, staff(server, "anna") as nurse:
        call_id = await nurse.ring(KAREN_ID)
        nurse_call = await asyncio.wait_for(nurse.wait_call(), WAIT_S)
        agent_call = await asyncio.wait_for(agent.wait_call(), WAIT_S)
        assert nurse_call.call_id == agent_call.call_id == call_id
        await within(nurse_call.peers.wait_video(1))
        await within(agent_call.peers.wait_video(1))
        stats = nurse.stats()["peers"]
        assert isinstance(stats, dict)
        (kiosk_stats,) = stats.values()
        assert kiosk_stats["connected"] and kiosk_stats["video_size"] == [320, 240]
        assert link_to(agent, nurse.client.welcome.peer_id).stats.video_frames > 0  # type: ignore[union-attr]
        await nurse.hangup()
        await within(agent.ended.wait())
        assert agent.end_reason == "hangup" and agent.call is None
    await all_gone(app)


async def test_kiosk_declines(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """The citizen presses red: both sides hear `declined` and no media starts."""
    async with (
        kiosk_agent(server, signaling_settings, "never") as agent,
        staff(server, "anna") as nurse,
    ):
        call_id = await nurse.ring(KAREN_ID)
        await eventually(lambda: agent.ringing is not None, "the tablet never rang")
        assert agent.ringing is not None and agent.ringing.call_id == call_id
        assert agent.ringing.caller.name == "Anna Jensen"
        await agent.decline()
        await within(nurse.ended.wait())
        await within(agent.ended.wait())
        assert nurse.end_reason == agent.end_reason == "declined"
        assert nurse.call is None and agent.call is None and agent.ringing is None
    await all_gone(app)


async def test_ring_times_out(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """Nobody answers within ring_timeout_s (2 s here): `no_answer` for both, nothing left."""
    async with (
        kiosk_agent(server, signaling_settings, "never") as agent,
        staff(server, "anna") as nurse,
    ):
        await nurse.ring(KAREN_ID)
        await eventually(lambda: agent.ringing is not None, "the tablet never rang")
        await within(nurse.ended.wait())
        await within(agent.ended.wait())
        assert nurse.end_reason == agent.end_reason == "no_answer"
        assert await app[book_key].call_of_citizen(str(KAREN_ID)) is None
    await all_gone(app)


async def test_caller_cancels(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """The nurse gives up before the tablet answers: `cancelled` for both."""
    async with (
        kiosk_agent(server, signaling_settings, "never") as agent,
        staff(server, "anna") as nurse,
    ):
        await nurse.ring(KAREN_ID)
        await eventually(lambda: agent.ringing is not None, "the tablet never rang")
        await nurse.cancel()
        await within(nurse.ended.wait())
        await within(agent.ended.wait())
        assert nurse.end_reason == agent.end_reason == "cancelled"
    await all_gone(app)


@pytest.fixture
def signaling_settings(signaling_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings; a test may ask for a longer ring by indirect parametrisation."""
    ring_timeout_s = getattr(request, "param", None)
    if ring_timeout_s is None:
        return signaling_settings
    return dataclasses.replace(signaling_settings, ring_timeout_s=ring_timeout_s)


@pytest.mark.parametrize("signaling_settings", [10], indirect=True)
async def test_ringing_kiosk_reconnects_and_rings_again(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """A tablet that drops while ringing resumes its seat and rings again; the call goes on."""
    hub = app[hub_key]
    async with (
        kiosk_agent(server, signaling_settings, "never") as agent,
        staff(server, "anna") as nurse,
    ):
        call_id = await nurse.ring(KAREN_ID)
        await eventually(lambda: agent.ringing is not None, "the tablet never rang")
        assert agent.client.welcome is not None
        old_kiosk = agent.client.welcome.peer_id
        agent.ringing = None
        await hub.peers[old_kiosk].ws.close(code=CloseCode.GOING_AWAY, message=b"test drop")
        await eventually(lambda: agent.ringing is not None, "no ring after the reconnect")
        assert agent.ringing is not None and agent.ringing.call_id == call_id
        assert 1 <= agent.ringing.expires_in_s < 10  # what is left of the ring, not a new one
        welcome = agent.client.welcome
        assert welcome is not None and welcome.peer_id != old_kiosk
        assert welcome.resumed is not None and welcome.resumed.state == "ringing"
        await check_resumed_seat(app, call_id, gone=old_kiosk, back=welcome.peer_id)
        await nurse.cancel()
        await within(agent.ended.wait())
        assert agent.end_reason == "cancelled"
    await all_gone(app)


async def active_call(nurse: StaffCaller, agent: KioskAgent) -> tuple[str, str]:
    """Ring, wait for video both ways; the call id and the kiosk's peer id."""
    call_id = await nurse.ring(KAREN_ID)
    nurse_call = await asyncio.wait_for(nurse.wait_call(), WAIT_S)
    agent_call = await asyncio.wait_for(agent.wait_call(), WAIT_S)
    await within(nurse_call.peers.wait_video(1))
    await within(agent_call.peers.wait_video(1))
    assert agent.client.welcome is not None
    return call_id, agent.client.welcome.peer_id


async def test_kiosk_reconnects_within_grace_and_resumes(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """The tablet's socket drops mid-call: it resumes its seat, media keeps going and recovers."""
    hub = app[hub_key]
    async with kiosk_agent(server, signaling_settings) as agent, staff(server, "anna") as nurse:
        # The agent waits 0.5 s before reconnecting, so the nurse sees frames during the gap.
        agent.client.backoff = Backoff(base_s=0.5, cap_s=0.5, rng=LongestDelay())
        call_id, old_kiosk = await active_call(nurse, agent)
        await hub.peers[old_kiosk].ws.close(code=CloseCode.INTERNAL_ERROR, message=b"test drop")

        (_, frames_at_drop) = await nurse.wait_for(PeerDisconnected)
        (reconnected, frames_at_return) = await nurse.wait_for(PeerReconnected)
        assert isinstance(reconnected, PeerReconnected)
        new_kiosk = reconnected.peer.peer_id
        assert reconnected.old_peer_id == old_kiosk != new_kiosk
        assert frames_at_drop is not None and frames_at_return is not None
        assert frames_at_return > frames_at_drop, "media stopped while signalling was down"

        welcome = agent.client.welcome
        assert welcome is not None and welcome.peer_id == new_kiosk
        assert welcome.resumed is not None and welcome.resumed.call_id == call_id
        await check_resumed_seat(app, call_id, gone=old_kiosk, back=new_kiosk)
        nurse_call = nurse.call
        assert nurse_call is not None and set(nurse_call.peers.links) <= {new_kiosk}
        await within(nurse_call.peers.wait_video(1))
        assert set(nurse_call.peers.links) == {new_kiosk}
        assert agent.call is not None and agent.call.call_id == call_id
        await nurse.hangup()
        await within(agent.ended.wait())
    await all_gone(app)


async def test_caller_reconnects_within_grace_and_resumes(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """The nurse's socket drops mid-call: she resumes, the tablet is told and answers anew."""
    hub = app[hub_key]
    async with kiosk_agent(server, signaling_settings) as agent, staff(server, "anna") as nurse:
        call_id, kiosk_id = await active_call(nurse, agent)
        assert nurse.client.welcome is not None
        old_nurse = nurse.client.welcome.peer_id
        await hub.peers[old_nurse].ws.close(code=CloseCode.GOING_AWAY, message=b"test drop")

        def resumed() -> bool:
            welcome = nurse.client.welcome
            return welcome is not None and welcome.peer_id != old_nurse

        await eventually(resumed, "the nurse never came back")
        welcome = nurse.client.welcome
        assert welcome is not None and welcome.resumed is not None
        new_nurse = welcome.peer_id
        await check_resumed_seat(app, call_id, gone=old_nurse, back=new_nurse)
        agent_call = agent.call
        assert agent_call is not None
        await eventually(lambda: new_nurse in agent_call.peers.links, "no link to the new id")
        await within(link_to(agent, new_nurse).first_frame.wait())
        assert set(agent_call.peers.links) == {new_nurse}
        assert nurse.call is not None
        await within(link_to(nurse, kiosk_id).first_frame.wait())
        await nurse.hangup()
        await within(agent.ended.wait())
    await all_gone(app)


async def check_resumed_seat(app: web.Application, call_id: str, *, gone: str, back: str) -> None:
    """The seat moved to the new peer id; the old id exists nowhere (no ghost)."""
    hub, book = app[hub_key], app[book_key]
    await eventually(lambda: gone not in hub.peers, "the old socket is still registered")
    call = await book.get(call_id)
    assert back in call.participants and gone not in call.participants
    assert all(seat.connected for seat in call.participants.values())
    assert await book.profile(gone) is None and await book.profile(back) is not None
    assert not [key for key in hub.timer_keys if key[0] == "grace"]


async def test_colleague_joins_three_party_mesh(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """Anna adds Carla: every pair of the three is connected and decodes the other's video."""
    async with (
        kiosk_agent(server, signaling_settings) as agent,
        staff(server, "anna") as anna,
        staff(server, "carla") as carla,
    ):
        call_id, kiosk_id = await active_call(anna, agent)
        assert carla.client.welcome is not None and anna.client.welcome is not None
        await anna.invite(carla.client.welcome.identity.id)
        invitation = await asyncio.wait_for(carla.invitations.get(), WAIT_S)
        assert invitation.call_id == call_id and invitation.by.name == "Anna Jensen"
        await carla.accept_invite(call_id)
        carla_call = await asyncio.wait_for(carla.wait_call(), WAIT_S)
        for side in (anna, carla, agent):
            assert side.call is not None
            await within(side.call.peers.wait_video(2))
        ids = {anna.client.welcome.peer_id, carla.client.welcome.peer_id, kiosk_id}
        for side, own in ((anna, anna), (carla, carla)):
            assert side.call is not None and own.client.welcome is not None
            assert set(side.call.peers.links) == ids - {own.client.welcome.peer_id}
            assert all(link.connected.is_set() for link in side.call.peers.links.values())
        assert agent.call is not None and set(agent.call.peers.links) == ids - {kiosk_id}
        assert len((await app[book_key].get(call_id)).participants) == 3

        await anna.hangup()  # the call goes on with Carla as staff
        await carla.wait_for(PeerLeft)
        assert carla_call.peers.links.keys() == {kiosk_id}
        await carla.hangup()  # the last staff member: the call ends
        await within(agent.ended.wait())
        assert agent.end_reason == "hangup"
    await all_gone(app)
