"""Two PeerManagers connected in-process, with the messages passed by hand (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kiosk.media import ColourBarsTrack, LocalMedia, ToneTrack
from kiosk.peers import PeerManager, dtls_fingerprints, ice_ufrags, to_rtc_candidate
from server.signaling.messages import IceCandidate

pytestmark = pytest.mark.usefixtures("loopback_only_ice")


def make_media() -> LocalMedia:
    """Synthetic tracks for one side."""
    return LocalMedia(ToneTrack(), ColourBarsTrack())


@pytest.fixture
async def pair() -> AsyncIterator[tuple[PeerManager, PeerManager]]:
    """A kiosk-side and a staff-side manager with no ICE servers; closed afterwards."""
    media = (make_media(), make_media())
    kiosk, staff = (PeerManager([], m) for m in media)
    try:
        yield kiosk, staff
    finally:
        await kiosk.close()
        await staff.close()
        for m in media:
            m.stop()


async def negotiate(offerer: PeerManager, answerer: PeerManager) -> None:
    """Offer from `offerer` (as peer "k") to `answerer` (as peer "n") and apply the answer."""
    offer = await offerer.create_offer("n")
    answer = await answerer.answer_offer("k", offer)
    await offerer.apply_answer("n", answer)


async def test_peers_video_flows_both_ways(pair: tuple[PeerManager, PeerManager]) -> None:
    """After one offer/answer, each side decodes the other's test-pattern video."""
    kiosk, staff = pair
    await negotiate(kiosk, staff)
    async with asyncio.timeout(4):
        await kiosk.links["n"].first_frame.wait()
        await staff.links["k"].first_frame.wait()
    assert kiosk.links["n"].stats.video_size == (320, 240)
    assert staff.links["k"].stats.connected_at is not None
    assert "127.0.0.1" in (staff.links["k"].pc.remoteDescription.sdp)


async def test_peers_offer_restart_replaces_the_link(
    pair: tuple[PeerManager, PeerManager],
) -> None:
    """A restart from the offerer (new ICE credentials) makes the answerer start a fresh link."""
    kiosk, staff = pair
    await negotiate(kiosk, staff)
    first = staff.links["k"]
    offer = await kiosk.restart("n")
    await kiosk.apply_answer("n", await staff.answer_offer("k", offer))
    assert staff.links["k"] is not first
    async with asyncio.timeout(4):
        await staff.links["k"].first_frame.wait()


async def test_peers_camera_off_sends_no_video(pair: tuple[PeerManager, PeerManager]) -> None:
    """With the camera hidden the kiosk still receives video but sends only audio."""
    kiosk, staff = pair
    kiosk.camera = False
    await negotiate(kiosk, staff)
    async with asyncio.timeout(4):
        await kiosk.links["n"].first_frame.wait()
    await asyncio.sleep(0.3)  # time enough for a first video frame, had one been sent
    assert staff.links["k"].stats.audio_frames > 0
    assert staff.links["k"].stats.video_frames == 0


async def test_peers_early_candidates_wait_for_the_offer(
    pair: tuple[PeerManager, PeerManager],
) -> None:
    """Candidates that arrive before any SDP are ignored for unknown peers, not raised."""
    kiosk, _ = pair
    await kiosk.add_candidate("nobody", None)
    assert "nobody" not in kiosk.links


def test_ice_ufrags_reads_every_section() -> None:
    """ice_ufrags collects the a=ice-ufrag values of all m-sections."""
    sdp = (
        "v=0\r\na=ice-ufrag:abcd\r\nm=audio\r\na=ice-ufrag:abcd\r\nm=video\r\na=ice-ufrag:efgh\r\n"
    )
    assert ice_ufrags(sdp) == {"abcd", "efgh"}


def test_dtls_fingerprints_are_read_case_insensitively() -> None:
    """dtls_fingerprints collects a=fingerprint values, so a new certificate is noticed."""
    sdp = "v=0\r\na=fingerprint:sha-256 AB:CD\r\nm=audio\r\na=fingerprint:sha-256 ab:cd\r\n"
    assert dtls_fingerprints(sdp) == {"sha-256 ab:cd"}


def test_to_rtc_candidate_converts_browser_init() -> None:
    """A browser RTCIceCandidateInit becomes an aiortc candidate; an empty one is skipped."""
    line = "candidate:842163049 1 udp 1677729535 192.0.2.1 54321 typ srflx raddr 10.0.0.2 rport 9"
    converted = to_rtc_candidate(IceCandidate(candidate=line, sdpMid="0", sdpMLineIndex=0))
    assert converted is not None
    assert (converted.ip, converted.port, converted.type, converted.sdpMid) == (
        "192.0.2.1",
        54321,
        "srflx",
        "0",
    )
    assert to_rtc_candidate(IceCandidate(candidate="", sdpMid="0")) is None
