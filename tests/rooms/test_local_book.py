"""The live-call book of one process: presence, seats and call facts, forgotten when done."""

from __future__ import annotations

import pytest

from server.identity import StaffIdentity
from server.rooms.book import CallMeta, PeerProfile, Seat
from server.rooms.errors import UnknownCall
from server.rooms.local_book import LocalBook
from server.rooms.registry import Participant
from server.vocabulary import EndReason, PeerKind, Role

ANNA = StaffIdentity(7, 1, "anna", "Anna Jensen", Role.NURSE, frozenset({3}), 11, "csrf")
NURSE = PeerProfile(PeerKind.STAFF, "7", "Anna Jensen", "nurse", "1", staff=ANNA)
KIOSK = PeerProfile(PeerKind.KIOSK, "5", "Karen", "citizen", "1", citizen_id="1", kiosk_db_id=5)
META = CallMeta(citizen_db_id=1, visit_id=42, visit_type="medication", camera_off=False)


def seat(peer_id: str, profile: PeerProfile) -> Seat:
    """A seat for ``peer_id`` with a resume token of its own."""
    participant = Participant(peer_id, profile.kind, profile.identity_id, f"tok-{peer_id}")
    return Seat(participant, profile)


async def test_book_presence_of_kiosks_and_consoles() -> None:
    """A newer kiosk socket displaces the older one; staff tabs and teams are indexed."""
    book = LocalBook(max_participants=6)
    assert await book.connect("k1", KIOSK) is None
    assert await book.connect("k2", KIOSK) == "k1"
    assert await book.kiosk_peer("1") == "k2" and await book.online_citizens(["1", "2"]) == {"1"}
    assert await book.disconnect("k1", KIOSK) is False  # the displaced socket changes nothing
    await book.connect("s1", NURSE)
    await book.connect("s2", NURSE)
    assert set(await book.staff_tabs("7")) == {"s1", "s2"} and await book.online_staff() == {"7"}
    assert set(await book.team_peers(3)) == {"s1", "s2"} and await book.team_peers(4) == ()
    await book.subscribe("s1", ["1", "2"])
    await book.subscribe("s1", ["2"])
    assert await book.watchers("1") == () and await book.watchers("2") == ("s1",)
    assert await book.disconnect("k2", KIOSK) is True
    for peer_id in ("s1", "s2"):
        assert await book.disconnect(peer_id, NURSE) is False
    assert book.idle()


async def test_book_remembers_a_call_until_it_ends() -> None:
    """The call's facts and faces live exactly as long as the call."""
    book = LocalBook(max_participants=6)
    call = await book.ring("c1", "1", seat("s1", NURSE), seat("k1", KIOSK), META)
    assert await book.meta("c1") == META and call.visit_id == "42"
    assert await book.profile("s1") == NURSE and await book.profile("k1") == KIOSK
    await book.accept("c1", "k1")
    departure = await book.leave("c1", "k1")  # the kiosk leaving ends the call
    over = departure.over
    assert over is not None and over.meta == META and over.ended.reason is EndReason.HANGUP
    assert departure.profile == KIOSK
    assert await book.find("c1") is None and await book.profile("s1") is None
    with pytest.raises(UnknownCall):
        await book.get("c1")
    assert book.idle()


async def test_book_resume_moves_the_face_to_the_new_socket() -> None:
    """After a resume the old peer id is known nowhere; a cancelled ring forgets everything."""
    book = LocalBook(max_participants=6)
    await book.ring("c1", "1", seat("s1", NURSE), seat("k1", KIOSK), META)
    assert await book.drop("s1") is not None
    resumed = await book.resume("c1", "tok-s1", seat("s9", NURSE))
    assert resumed.old_peer_id == "s1"
    assert await book.profile("s1") is None and await book.profile("s9") == NURSE
    over = await book.cancel("c1", "s9")
    assert over.meta == META and over.ended.reason is EndReason.CANCELLED
    assert book.idle()


async def test_book_only_a_kiosk_is_the_citizens_tablet() -> None:
    """A guest joining about a citizen is never taken for that citizen's tablet."""
    book = LocalBook(max_participants=6)
    guest = PeerProfile(PeerKind.GUEST, "g1", "Ida", None, "1", citizen_id="1")
    assert await book.connect("g1", guest) is None
    assert await book.kiosk_peer("1") is None and await book.online_citizens(["1"]) == set()
    assert await book.disconnect("g1", guest) is False
    assert book.idle()
