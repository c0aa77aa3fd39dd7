"""Tests for server.rooms.registry: the live-call registry, without sockets or a loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from server.rooms import errors
from server.rooms.registry import Ended, LiveCall, Participant, RoomRegistry
from server.signaling.messages import ErrorCode
from server.vocabulary import CallState, EndReason, PeerKind

CALL = "call-1"
CITIZEN = "cit-1"


def staff(n: int, token: str = "") -> Participant:
    """Staff member u<n> on socket s<n>."""
    return Participant(f"s{n}", PeerKind.STAFF, f"u{n}", resume_token=token or f"tok-s{n}")


def kiosk(peer_id: str = "k1", token: str = "tok-k1") -> Participant:
    """The citizen's tablet."""
    return Participant(peer_id, PeerKind.KIOSK, "kiosk-1", resume_token=token)


def ringing(max_participants: int = 6) -> RoomRegistry:
    """A registry with staff s1 ringing kiosk k1."""
    rooms = RoomRegistry(max_participants)
    rooms.start_ring(CALL, CITIZEN, staff(1), kiosk(), visit_id="v1")
    return rooms


def active(max_participants: int = 6) -> RoomRegistry:
    """A registry with an answered call between s1 and k1."""
    rooms = ringing(max_participants)
    rooms.accept(CALL, "k1")
    return rooms


def with_colleague() -> RoomRegistry:
    """An active call that colleague s2 joined after an invitation."""
    rooms = active()
    rooms.invite(CALL, "s1", "u2")
    rooms.join(CALL, staff(2))
    return rooms


def peers(call: LiveCall) -> set[str]:
    """The peer ids holding seats."""
    return set(call.participants)


# -- ringing --------------------------------------------------------------------------------


def test_start_ring_creates_ringing_call() -> None:
    """A ring seats caller and kiosk in a ringing call, indexed by peer and citizen."""
    rooms = ringing()
    call = rooms.get(CALL)
    assert (call.state, call.visit_id, peers(call)) == (CallState.RINGING, "v1", {"s1", "k1"})
    assert rooms.call_of("s1") is rooms.call_of("k1") is rooms.call_of_citizen(CITIZEN) is call
    assert rooms.is_member(CALL, "k1") and not rooms.is_member(CALL, "s9")
    assert call.kiosk == kiosk() and call.staff == (staff(1),)
    assert len(rooms) == 1 and rooms.calls() == (call,)


@pytest.mark.parametrize(
    ("citizen", "caller", "tablet"),
    [
        (CITIZEN, staff(2), kiosk("k2")),
        ("cit-2", staff(1), kiosk("k2")),
        ("cit-2", staff(2), kiosk("k1")),
    ],
)
def test_start_ring_busy(citizen: str, caller: Participant, tablet: Participant) -> None:
    """The citizen, the caller and the kiosk can each be in only one live call."""
    rooms = ringing()
    with pytest.raises(errors.Busy):
        rooms.start_ring("call-2", citizen, caller, tablet)
    assert len(rooms) == 1


@pytest.mark.parametrize(
    ("call_id", "caller", "tablet"),
    [
        ("call-2", kiosk("k2"), kiosk("k3")),
        ("call-2", staff(2), staff(3)),
        ("call-2", staff(2), replace(kiosk(), peer_id="s2")),
        (CALL, staff(2), kiosk("k2")),
    ],
)
def test_start_ring_programming_errors(
    call_id: str, caller: Participant, tablet: Participant
) -> None:
    """Wrong kinds, a shared peer id or a reused call id are bugs in the caller."""
    rooms = ringing()
    with pytest.raises(ValueError):
        rooms.start_ring(call_id, "cit-2", caller, tablet)


def test_accept_makes_call_active() -> None:
    """The kiosk's accept turns the call active."""
    rooms = ringing()
    assert rooms.accept(CALL, "k1").state is CallState.ACTIVE
    assert rooms.get(CALL).state is CallState.ACTIVE


RINGING_REFUSALS: list[tuple[Callable[[RoomRegistry], object], type[errors.RoomError]]] = [
    (lambda r: r.accept(CALL, "s1"), errors.Forbidden),
    (lambda r: r.accept(CALL, "s9"), errors.NotAMember),
    (lambda r: r.accept("nope", "k1"), errors.UnknownCall),
    (lambda r: r.decline(CALL, "s1"), errors.Forbidden),
    (lambda r: r.cancel(CALL, "k1"), errors.Forbidden),
    (lambda r: r.cancel("nope", "s1"), errors.UnknownCall),
    (lambda r: r.invite(CALL, "s1", "u2"), errors.InvalidState),
]


@pytest.mark.parametrize(("operation", "error"), RINGING_REFUSALS)
def test_ringing_refusals(
    operation: Callable[[RoomRegistry], object], error: type[errors.RoomError]
) -> None:
    """While ringing only the kiosk answers, only staff cancel, and nobody invites."""
    rooms = ringing()
    with pytest.raises(error):
        operation(rooms)
    assert rooms.get(CALL).state is CallState.RINGING


ACTIVE_REFUSALS: list[tuple[Callable[[RoomRegistry], object], type[errors.RoomError]]] = [
    (lambda r: r.accept(CALL, "k1"), errors.InvalidState),
    (lambda r: r.decline(CALL, "k1"), errors.InvalidState),
    (lambda r: r.cancel(CALL, "s1"), errors.InvalidState),
    (lambda r: r.invite(CALL, "k1", "u2"), errors.Forbidden),
    (lambda r: r.invite(CALL, "s9", "u2"), errors.NotAMember),
    (lambda r: r.invite(CALL, "s1", "u1"), errors.InvalidState),
    (lambda r: r.invite("nope", "s1", "u2"), errors.UnknownCall),
    (lambda r: r.join(CALL, staff(2)), errors.NotInvited),
    (lambda r: r.decline_invite(CALL, "u2"), errors.NotInvited),
    (lambda r: r.leave(CALL, "s9"), errors.NotAMember),
    (lambda r: r.leave("nope", "s1"), errors.UnknownCall),
    (lambda r: r.resume("nope", "tok-s1", staff(1)), errors.UnknownCall),
]


@pytest.mark.parametrize(("operation", "error"), ACTIVE_REFUSALS)
def test_active_refusals(
    operation: Callable[[RoomRegistry], object], error: type[errors.RoomError]
) -> None:
    """An answered call cannot be answered, declined or cancelled; invites need staff members."""
    rooms = active()
    before = rooms.get(CALL)
    with pytest.raises(error):
        operation(rooms)
    assert rooms.get(CALL) == before


@pytest.mark.parametrize(
    ("operation", "reason", "by"),
    [
        (lambda r: r.decline(CALL, "k1"), EndReason.DECLINED, "k1"),
        (lambda r: r.cancel(CALL, "s1"), EndReason.CANCELLED, "s1"),
        (lambda r: r.timeout(CALL), EndReason.NO_ANSWER, None),
        (lambda r: r.abort(CALL), EndReason.SERVER_LOST, None),
    ],
)
def test_ring_ends(
    operation: Callable[[RoomRegistry], object], reason: EndReason, by: str | None
) -> None:
    """Decline, cancel, ring timeout and a stopping server end the call and free every index."""
    rooms = ringing()
    ended = operation(rooms)
    assert isinstance(ended, Ended)
    assert (ended.reason, ended.by, ended.call.state) == (reason, by, CallState.ENDED)
    assert peers(ended.call) == {"s1", "k1"}
    assert_forgotten(rooms)


def assert_forgotten(rooms: RoomRegistry) -> None:
    """Nothing of the test call is left in the registry."""
    assert len(rooms) == 0 and rooms.find(CALL) is None
    assert rooms.call_of("s1") is None and rooms.call_of("k1") is None
    assert rooms.call_of_citizen(CITIZEN) is None


@pytest.mark.parametrize("setup", [active, lambda: RoomRegistry()])
def test_timeout_after_answer_is_noop(setup: Callable[[], RoomRegistry]) -> None:
    """A ring timer that fires late, after an answer or the end, changes nothing."""
    rooms = setup()
    assert rooms.timeout(CALL) is None


def test_registry_needs_two_seats() -> None:
    """A capacity below two is a configuration error."""
    with pytest.raises(ValueError):
        RoomRegistry(1)


# -- colleagues -----------------------------------------------------------------------------


def test_invite_reserves_seat_and_join_takes_it() -> None:
    """An invitation counts as a seat; joining turns it into a participant."""
    rooms = active()
    call = rooms.invite(CALL, "s1", "u2")
    assert call.is_invited("u2") and call.invited["u2"] == "s1" and call.seats_taken == 3
    assert rooms.invitations("u2") == (call,)
    call = rooms.join(CALL, staff(2))
    assert peers(call) == {"s1", "k1", "s2"} and not call.is_invited("u2")
    assert call.seats_taken == 3 and rooms.call_of("s2") is call
    assert rooms.invitations("u2") == ()


def test_invite_twice_is_invalid() -> None:
    """A colleague is invited once at a time."""
    rooms = active()
    rooms.invite(CALL, "s1", "u2")
    with pytest.raises(errors.InvalidState):
        rooms.invite(CALL, "s1", "u2")


@pytest.mark.parametrize(("max_participants", "invitations"), [(2, 0), (3, 1), (4, 2)])
def test_invite_room_full(max_participants: int, invitations: int) -> None:
    """Participants plus open invitations may not exceed the capacity."""
    rooms = active(max_participants)
    for n in range(invitations):
        rooms.invite(CALL, "s1", f"u{n + 10}")
    with pytest.raises(errors.RoomFull):
        rooms.invite(CALL, "s1", "u99")


def test_join_refuses_guest_and_busy_peer() -> None:
    """Invitations are for staff sockets that are not in another call."""
    rooms = active()
    rooms.invite(CALL, "s1", "u2")
    guest = Participant("g1", PeerKind.GUEST, "u2")
    with pytest.raises(errors.Forbidden):
        rooms.join(CALL, guest)
    rooms.start_ring("call-2", "cit-2", staff(2), kiosk("k2"))
    with pytest.raises(errors.Busy):
        rooms.join(CALL, staff(2))


def test_decline_and_expire_invite_free_the_seat() -> None:
    """Declining or letting an invitation lapse releases its seat; a late timer is a no-op."""
    rooms = active()
    rooms.invite(CALL, "s1", "u2")
    rooms.invite(CALL, "s1", "u3")
    assert not rooms.decline_invite(CALL, "u2").is_invited("u2")
    expired = rooms.expire_invite(CALL, "u3")
    assert expired is not None and expired.seats_taken == 2
    assert rooms.expire_invite(CALL, "u3") is None
    assert rooms.expire_invite("nope", "u3") is None


# -- leaving --------------------------------------------------------------------------------


LEAVES = [
    # (setup, leaver, reason given, call ended with)
    (ringing, "s1", EndReason.HANGUP, EndReason.CANCELLED),
    (ringing, "k1", EndReason.HANGUP, EndReason.DECLINED),
    (ringing, "k1", EndReason.CONNECTION_LOST, EndReason.CONNECTION_LOST),
    (active, "k1", EndReason.HANGUP, EndReason.HANGUP),
    (active, "s1", EndReason.HANGUP, EndReason.HANGUP),
    (active, "s1", EndReason.CONNECTION_LOST, EndReason.CONNECTION_LOST),
    (with_colleague, "k1", EndReason.HANGUP, EndReason.HANGUP),
    (with_colleague, "s1", EndReason.HANGUP, None),
    (with_colleague, "s2", EndReason.HANGUP, None),
]


@pytest.mark.parametrize(("setup", "leaver", "reason", "ended"), LEAVES)
def test_leave(
    setup: Callable[[], RoomRegistry], leaver: str, reason: EndReason, ended: EndReason | None
) -> None:
    """The call ends when the kiosk or the last staff member leaves, not otherwise."""
    rooms = setup()
    left = rooms.leave(CALL, leaver, reason)
    assert left.peer.peer_id == leaver and left.ended == ended
    assert leaver not in left.call.participants and rooms.call_of(leaver) is None
    assert (left.call.state is CallState.ENDED) == (ended is not None)
    assert (rooms.find(CALL) is None) == (ended is not None)


def test_leave_keeps_call_for_staff_in_grace() -> None:
    """A disconnected staff member still counts, so a colleague's hang-up does not end the call."""
    rooms = with_colleague()
    rooms.disconnect("s2")
    assert rooms.leave(CALL, "s1").ended is None
    assert peers(rooms.get(CALL)) == {"k1", "s2"}


def test_ended_snapshot_keeps_open_invitations() -> None:
    """When a call ends, its open invitations are in the final snapshot so they can be withdrawn."""
    rooms = active()
    rooms.invite(CALL, "s1", "u2")
    left = rooms.leave(CALL, "k1")
    assert left.ended is EndReason.HANGUP and left.call.is_invited("u2")
    assert rooms.invitations("u2") == ()


# -- disconnect, grace, resume --------------------------------------------------------------


def test_disconnect_marks_seat_once() -> None:
    """A dropped socket keeps its seat, marked disconnected; repeats and strangers are no-ops."""
    rooms = active()
    call = rooms.disconnect("s1")
    assert call is not None and call.participants["s1"].connected is False
    assert rooms.disconnect("s1") is None
    assert rooms.disconnect("nobody") is None
    assert rooms.resumable(PeerKind.STAFF, "u1") == (call,)
    assert rooms.resumable(PeerKind.KIOSK, "u1") == ()


def test_expire_grace_leaves_with_connection_lost() -> None:
    """After the grace period a disconnected participant leaves; here the last staff ends it."""
    rooms = active()
    rooms.disconnect("s1")
    left = rooms.expire_grace(CALL, "s1")
    assert left is not None and left.ended is EndReason.CONNECTION_LOST
    assert_forgotten(rooms)


@pytest.mark.parametrize("disconnect", [False, True])
def test_expire_grace_noop(disconnect: bool) -> None:
    """A grace timer for a connected, resumed or vanished seat changes nothing."""
    rooms = active()
    if disconnect:
        rooms.disconnect("s1")
        rooms.resume(CALL, "tok-s1", replace(staff(1), peer_id="s1b", resume_token="tok-s1b"))
    assert rooms.expire_grace(CALL, "s1") is None
    assert rooms.expire_grace("nope", "s1") is None
    assert rooms.get(CALL).state is CallState.ACTIVE


@pytest.mark.parametrize("disconnect_first", [True, False])
def test_resume_replaces_peer_without_ghost(disconnect_first: bool) -> None:
    """Resuming moves the seat to the new peer id; the old id is gone everywhere."""
    rooms = with_colleague()
    if disconnect_first:
        rooms.disconnect("s2")
    new = Participant("s2b", PeerKind.STAFF, "u2", resume_token="tok-s2b", connected=False)
    resumed = rooms.resume(CALL, "tok-s2", new)
    assert (resumed.old_peer_id, resumed.peer.peer_id) == ("s2", "s2b")
    assert resumed.peer.connected and resumed.call.participants["s2b"] == resumed.peer
    assert peers(resumed.call) == {"s1", "k1", "s2b"}
    assert rooms.call_of("s2") is None and rooms.call_of("s2b") is resumed.call
    assert rooms.resumable(PeerKind.STAFF, "u2") == ()


def test_resume_rotates_token() -> None:
    """The old resume token is spent; the new connection's token resumes next time."""
    rooms = active()
    rooms.resume(CALL, "tok-s1", replace(staff(1), peer_id="s1b", resume_token="tok-s1b"))
    third = replace(staff(1), peer_id="s1c", resume_token="tok-s1c")
    with pytest.raises(errors.NotAMember):
        rooms.resume(CALL, "tok-s1", third)
    assert rooms.resume(CALL, "tok-s1b", third).old_peer_id == "s1b"


def test_kiosk_resumes_while_ringing() -> None:
    """A tablet that reconnects during the ring keeps ringing under its new peer id."""
    rooms = ringing()
    rooms.disconnect("k1")
    resumed = rooms.resume(CALL, "tok-k1", kiosk("k1b", "tok-k1b"))
    assert resumed.call.state is CallState.RINGING
    assert rooms.accept(CALL, "k1b").state is CallState.ACTIVE


@pytest.mark.parametrize(
    ("token", "peer"),
    [
        ("wrong", replace(staff(1), peer_id="x")),
        ("", replace(staff(1), peer_id="x")),
        ("tøken-æøå", replace(staff(1), peer_id="x")),
        ("tok-s1", Participant("x", PeerKind.STAFF, "u2")),
        ("tok-s1", Participant("x", PeerKind.KIOSK, "u1")),
        ("tok-k1", replace(staff(1), peer_id="x")),
    ],
)
def test_resume_refused(token: str, peer: Participant) -> None:
    """The token must match a seat of the same kind and identity."""
    rooms = active()
    with pytest.raises(errors.NotAMember):
        rooms.resume(CALL, token, peer)
    assert peers(rooms.get(CALL)) == {"s1", "k1"}


def test_resume_refuses_empty_token_against_empty_seat_token() -> None:
    """A seat without a resume token can never be resumed, not even with an empty token."""
    rooms = RoomRegistry()
    rooms.start_ring(CALL, CITIZEN, Participant("s1", PeerKind.STAFF, "u1"), kiosk())
    with pytest.raises(errors.NotAMember):
        rooms.resume(CALL, "", Participant("s1b", PeerKind.STAFF, "u1"))


def test_resume_into_busy_peer() -> None:
    """A socket already seated elsewhere cannot resume another seat."""
    rooms = active()
    rooms.start_ring("call-2", "cit-2", staff(2), kiosk("k2"))
    with pytest.raises(errors.Busy):
        rooms.resume(CALL, "tok-s1", replace(staff(1), peer_id="s2"))


# -- snapshots and errors -------------------------------------------------------------------


def test_snapshots_are_immutable() -> None:
    """Snapshots cannot be changed, and later operations leave earlier ones intact."""
    rooms = ringing()
    before = rooms.get(CALL)
    with pytest.raises(TypeError):
        before.participants["x"] = staff(9)  # type: ignore[index]
    rooms.accept(CALL, "k1")
    rooms.invite(CALL, "s1", "u2")
    assert before.state is CallState.RINGING and dict(before.invited) == {}


def test_others_excludes_self() -> None:
    """`others` is the audience for a participant's events."""
    call = with_colleague().get(CALL)
    assert {p.peer_id for p in call.others("s2")} == {"s1", "k1"}
    assert call.is_member("s2") and not call.is_member("s9")


def test_participant_repr_hides_resume_token() -> None:
    """Resume tokens never reach logs."""
    assert "tok-s1" not in repr(staff(1))


ERROR_CLASSES = [
    errors.UnknownCall,
    errors.NotAMember,
    errors.NotInvited,
    errors.Forbidden,
    errors.InvalidState,
    errors.RoomFull,
    errors.Busy,
]


@pytest.mark.parametrize("cls", ERROR_CLASSES)
def test_error_codes_are_protocol_codes(cls: type[errors.RoomError]) -> None:
    """Every domain error maps to a stable signalling error code and names its call."""
    error = cls(CALL, "why")
    assert cls.code in {code.value for code in ErrorCode}
    assert str(error) == f"call {CALL}: why" and CALL in repr(error)
    assert str(cls(CALL)) == f"call {CALL}"


def test_a_nurse_whose_id_a_tablet_also_has_may_ring() -> None:
    """Ids are unique only within a kind: staff member "1" is not tablet "1" in another call."""
    rooms = ringing()
    tablet_id = rooms.get(CALL).participants["k1"].identity_id
    nurse = Participant("s9", PeerKind.STAFF, tablet_id)
    other_tablet = Participant("k9", PeerKind.KIOSK, "other-tablet")
    call = rooms.start_ring("call-2", "cit-2", nurse, other_tablet)
    assert call.state is CallState.RINGING and len(rooms) == 2
