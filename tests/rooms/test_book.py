"""The live-call book — of one process, and shared by nodes in Redis: presence, seats and call
facts, forgotten when done. Every test runs against both books."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from server.identity import StaffIdentity
from server.rooms.book import CallBook, CallMeta, PeerProfile, Seat
from server.rooms.errors import Busy, UnknownCall
from server.rooms.local_book import LocalBook
from server.rooms.redis_book import RedisBook
from server.rooms.registry import Participant
from server.vocabulary import EndReason, PeerKind, Role
from tests import databases

ANNA = StaffIdentity(7, 1, "anna", "Anna Jensen", Role.NURSE, frozenset({3}), 11, "csrf")
NURSE = PeerProfile(PeerKind.STAFF, "7", "Anna Jensen", "nurse", "1", staff=ANNA)
KIOSK = PeerProfile(PeerKind.KIOSK, "5", "Karen", "citizen", "1", citizen_id="1", kiosk_db_id=5)
# What another node sees of her: the session's CSRF token stays with the session's node.
SHARED_NURSE = PeerProfile(
    PeerKind.STAFF, "7", "Anna Jensen", "nurse", "1", staff=replace(ANNA, csrf_token="")
)
META = CallMeta(citizen_db_id=1, visit_id=42, visit_type="medication", camera_off=False)


BOOK_REDIS = "redis://127.0.0.1:6379/8"  # this module's own database, flushed per test


@pytest.fixture(params=["local", "redis"])
async def book(request: pytest.FixtureRequest) -> AsyncIterator[CallBook]:
    """A fresh book of each kind."""
    if request.param == "local":
        yield LocalBook(max_participants=6)
        return
    redis = Redis.from_url(BOOK_REDIS, decode_responses=True)
    if not await databases.redis_reachable(BOOK_REDIS):
        databases.missing_service("Redis at 127.0.0.1:6379")
    await redis.flushdb()
    try:
        yield RedisBook(redis, "node-a", max_participants=6)
    finally:
        await redis.flushdb()
        await redis.aclose()


async def idle(book: CallBook) -> bool:
    """Nothing live is left in the book."""
    if isinstance(book, LocalBook):
        return book.idle()
    assert isinstance(book, RedisBook)
    return not await book.redis.keys("sv:*")


def seat(peer_id: str, profile: PeerProfile) -> Seat:
    """A seat for ``peer_id`` with a resume token of its own."""
    participant = Participant(peer_id, profile.kind, profile.identity_id, f"tok-{peer_id}")
    return Seat(participant, profile)


async def test_book_presence_of_kiosks_and_consoles(book: CallBook) -> None:
    """A newer kiosk socket displaces the older one; staff tabs and teams are indexed."""
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
    assert await idle(book)


async def test_book_remembers_a_call_until_it_ends(book: CallBook) -> None:
    """The call's facts and faces live exactly as long as the call."""
    call = await book.ring("c1", "1", seat("s1", NURSE), seat("k1", KIOSK), META)
    assert await book.meta("c1") == META and call.visit_id == "42"
    assert await book.profile("s1") in (NURSE, SHARED_NURSE) and await book.profile("k1") == KIOSK
    await book.accept("c1", "k1")
    departure = await book.leave("c1", "k1")  # the kiosk leaving ends the call
    over = departure.over
    assert over is not None and over.meta == META and over.ended.reason is EndReason.HANGUP
    assert departure.profile == KIOSK
    assert await book.find("c1") is None and await book.profile("s1") is None
    with pytest.raises(UnknownCall):
        await book.get("c1")
    assert await idle(book)


async def test_book_resume_moves_the_face_to_the_new_socket(book: CallBook) -> None:
    """After a resume the old peer id is known nowhere; a cancelled ring forgets everything."""
    await book.ring("c1", "1", seat("s1", NURSE), seat("k1", KIOSK), META)
    assert await book.drop("s1") is not None
    resumed = await book.resume("c1", "tok-s1", seat("s9", NURSE))
    assert resumed.old_peer_id == "s1"
    assert await book.profile("s1") is None and await book.profile("s9") in (NURSE, SHARED_NURSE)
    over = await book.cancel("c1", "s9")
    assert over.meta == META and over.ended.reason is EndReason.CANCELLED
    assert await idle(book)


async def test_book_only_a_kiosk_is_the_citizens_tablet(book: CallBook) -> None:
    """A guest joining about a citizen is never taken for that citizen's tablet."""
    guest = PeerProfile(PeerKind.GUEST, "g1", "Ida", None, "1", citizen_id="1")
    assert await book.connect("g1", guest) is None
    assert await book.kiosk_peer("1") is None and await book.online_citizens(["1"]) == set()
    assert await book.disconnect("g1", guest) is False
    assert await idle(book)


async def test_nodes_ringing_one_citizen_at_once_get_one_call(book: CallBook) -> None:
    """Two nodes' rings to the same tablet at the same moment: one call, the other is busy
    (a call step is atomic across nodes, as it is within one process)."""
    other = book
    if isinstance(book, RedisBook):
        other = RedisBook(book.redis, "node-b", max_participants=6)
    bente = PeerProfile(PeerKind.STAFF, "8", "Bente", "nurse", "1")
    rings = await asyncio.gather(
        *(
            b.ring(f"c{i}", "1", seat(f"s{i}", profile), seat("k1", KIOSK), META)
            for i, (b, profile) in enumerate([(book, NURSE), (other, bente)] * 4)
        ),
        return_exceptions=True,
    )
    calls = [r for r in rings if not isinstance(r, BaseException)]
    assert len(calls) == 1 and all(isinstance(r, Busy) for r in rings if r not in calls)
    assert await book.call_of_citizen("1") == calls[0] == await other.call_of("k1")
    assert (await book.cancel(calls[0].call_id, next(iter(calls[0].staff)).peer_id)).meta == META
    assert await idle(book)
