"""A real TURN relay (coturn, use-auth-secret): relay-only aiortc peers with minted credentials."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from kiosk.media import ColourBarsTrack
from server.settings import Settings
from server.turn import mint_turn_credential, turn_password
from tests.databases import missing_service
from tests.signaling.conftest import NewClient
from tests.signaling.wsclient import Sock, kiosk_socket, staff_socket

pytestmark = pytest.mark.usefixtures("loopback_only_ice")

TURN_SECRET = "turn-test-secret"
WAIT_S = 20.0
KAREN = 0


@dataclass(frozen=True, slots=True)
class Coturn:
    """A running coturn on loopback."""

    url: str
    log: Path


def free_port() -> int:
    """A loopback port free for both UDP and TCP right now (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with (
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
                contextlib.suppress(OSError),
            ):
                tcp.bind(("127.0.0.1", port))
                return port
    raise RuntimeError("no free port")


def stun_answers(port: int) -> bool:
    """True when a STUN binding request to the port gets a binding success response."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.2)
        try:
            udp.sendto(request, ("127.0.0.1", port))
            data = udp.recv(2048)
        except OSError:  # refused (not listening yet) or timed out
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]


def coturn_command(port: int, relay_ports: tuple[int, int], workdir: Path) -> list[str]:
    """The loopback flags from FIELD-NOTES.md, with every file kept in ``workdir``."""
    return [
        "turnserver",
        "-n",
        "-L",
        "127.0.0.1",
        "--listening-port",
        str(port),
        "--use-auth-secret",
        f"--static-auth-secret={TURN_SECRET}",
        "--realm=test",
        "--no-tls",
        "--no-dtls",
        "--allow-loopback-peers",
        "--min-port",
        str(relay_ports[0]),
        "--max-port",
        str(relay_ports[1]),
        "--no-cli",
        f"--log-file={workdir / 'turn.log'}",
        "--simple-log",
        "--no-stdout-log",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--userdb={workdir / 'turndb'}",
    ]


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    """coturn with use-auth-secret on a free loopback port; stopped afterwards."""
    if shutil.which("turnserver") is None:
        missing_service("coturn (turnserver)")
    port = free_port()
    low = random.randrange(50000, 64000, 200)  # other test runs may relay at the same time
    log = tmp_path / "turn.log"
    process = subprocess.Popen(
        coturn_command(port, (low, low + 199), tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not stun_answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"coturn did not start; see {log}")
        yield Coturn(f"turn:127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def signaling_settings(demo: Settings, coturn: Coturn) -> Settings:
    """The signalling settings with our coturn as the only ICE server."""
    return dataclasses.replace(
        demo,
        ring_timeout_s=10,
        reconnect_grace_s=2,
        turn_urls=(coturn.url,),
        turn_secret=TURN_SECRET,
    )


def relay_pc(ice_servers: Sequence[dict[str, Any]]) -> RTCPeerConnection:
    """A relay-only aiortc connection configured exactly with a list the server sent."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in ice_servers
    ]
    config = RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    return RTCPeerConnection(configuration=config)


def candidate_types(sdp: str) -> set[str]:
    """The `typ` of every candidate line in an SDP."""
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if " typ " in line}


@contextlib.asynccontextmanager
async def closing(*pcs: RTCPeerConnection) -> AsyncIterator[None]:
    """Close the connections whatever happens."""
    try:
        yield
    finally:
        for pc in pcs:
            await pc.close()


async def first_video_frame(pc: RTCPeerConnection) -> asyncio.Future[object]:
    """A future resolved by the first decoded video frame this connection receives."""
    frame: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def consume(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            received = await track.recv()
            if not frame.done():
                frame.set_result(received)

    tasks: set[asyncio.Task[None]] = set()

    def on_track(track: MediaStreamTrack) -> None:
        task = asyncio.create_task(consume(track))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    pc.on("track", on_track)
    return frame


async def connected(pc: RTCPeerConnection) -> None:
    """Wait until the connection is connected; fail fast when it failed."""
    while pc.connectionState != "connected":
        assert pc.connectionState not in ("failed", "closed"), pc.connectionState
        changed = asyncio.Event()
        pc.once("connectionstatechange", changed.set)
        await changed.wait()


async def ring_and_accept(nurse: Sock, kiosk: Sock) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ring Karen and accept: the kiosk's ring and the nurse's active call-state."""
    await nurse.send(type="ring", id=2, citizen_id="1")
    ringing = await nurse.expect("call-state")
    ring = await kiosk.expect("ring")
    assert ringing["state"] == "ringing"
    await kiosk.send(type="accept", id=2, call_id=ring["call_id"])
    active = await nurse.expect("call-state")
    assert active["state"] == "active"
    await kiosk.expect("call-state")
    return ring, active


async def test_relay_only_peers_connect_with_minted_credentials(
    new_client: NewClient, signaling_settings: Settings, server: TestServer
) -> None:
    """Two relay-only peers signalled through the server connect via coturn and video flows."""
    nurse = await staff_socket(await new_client(), "anna")
    kiosk = await kiosk_socket(await new_client(), signaling_settings, KAREN)
    (welcome_turn,) = nurse.welcome["ice_servers"]
    assert welcome_turn["urls"] == list(signaling_settings.turn_urls)
    assert welcome_turn["username"].endswith(":" + nurse.peer_id)
    ring, active = await ring_and_accept(nurse, kiosk)
    (turn,) = ring["ice_servers"]
    assert turn["credential"] == turn_password(TURN_SECRET, turn["username"])
    expiry = int(turn["username"].split(":")[0])
    assert time.time() < expiry <= time.time() + signaling_settings.turn_ttl_s + 5

    offerer, answerer = relay_pc(ring["ice_servers"]), relay_pc(active["ice_servers"])
    async with closing(offerer, answerer):
        offerer.addTrack(ColourBarsTrack())
        frame = await first_video_frame(answerer)
        await offerer.setLocalDescription(await offerer.createOffer())
        offer_sdp = offerer.localDescription.sdp
        assert candidate_types(offer_sdp) == {"relay"}
        await kiosk.send(type="offer", call_id=ring["call_id"], to=nurse.peer_id, sdp=offer_sdp)
        relayed = await nurse.expect("offer")
        assert relayed["from"] == kiosk.peer_id
        await answerer.setRemoteDescription(RTCSessionDescription(relayed["sdp"], "offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert candidate_types(answerer.localDescription.sdp) == {"relay"}
        await nurse.send(
            type="answer",
            call_id=ring["call_id"],
            to=kiosk.peer_id,
            sdp=answerer.localDescription.sdp,
        )
        answer = await kiosk.expect("answer")
        await offerer.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        async with asyncio.timeout(WAIT_S):
            await connected(offerer)
            await connected(answerer)
            received = await frame
        assert getattr(received, "width", None) == 320
    await nurse.send(type="hangup", call_id=ring["call_id"])
    assert (await kiosk.expect("call-ended"))["reason"] == "hangup"
    await nurse.ws.close()
    await kiosk.ws.close()


async def gathered_types(servers: list[dict[str, Any]]) -> set[str]:
    """The candidate types a relay-only connection gathers with these servers."""
    pc = relay_pc(servers)
    async with closing(pc):
        pc.addTrack(ColourBarsTrack())
        await pc.setLocalDescription(await pc.createOffer())
        return candidate_types(pc.localDescription.sdp)


def servers_for(url: str, username: str, password: str) -> list[dict[str, Any]]:
    """An ICE server list with one TURN entry."""
    return [{"urls": [url], "username": username, "credential": password}]


async def test_expired_credentials_are_refused(coturn: Coturn) -> None:
    """Credentials whose expiry has passed get no relay allocation, so no connection."""
    fresh = mint_turn_credential(TURN_SECRET, "fresh", ttl_s=60)
    assert await gathered_types(servers_for(coturn.url, fresh.username, fresh.password)) == {
        "relay"
    }
    expired = mint_turn_credential(TURN_SECRET, "expired", ttl_s=60, now=lambda: time.time() - 3600)
    servers = servers_for(coturn.url, expired.username, expired.password)
    offerer, answerer = relay_pc(servers), relay_pc(servers)
    async with closing(offerer, answerer):
        became_connected = asyncio.Event()
        for pc in (offerer, answerer):

            def on_change(pc: RTCPeerConnection = pc) -> None:
                if pc.connectionState == "connected":
                    became_connected.set()

            pc.on("connectionstatechange", on_change)
        offerer.addTrack(ColourBarsTrack())
        await offerer.setLocalDescription(await offerer.createOffer())
        assert candidate_types(offerer.localDescription.sdp) == set()
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert candidate_types(answerer.localDescription.sdp) == set()
        await offerer.setRemoteDescription(answerer.localDescription)
        # A fresh relay connects in about 0.6 s here; give the refused one several times that.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(became_connected.wait(), 3.0)
        assert "connected" not in (offerer.connectionState, answerer.connectionState)
