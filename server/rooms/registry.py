"""Who is in which live call: a pure, synchronous registry of ids, never sockets.

The signalling handler owns the sockets (peer id → Peer) and the timers; it calls one method
per protocol event and fans out what the returned snapshot or effect describes. Every `LiveCall`
is immutable, so a returned snapshot is safe to iterate across `await`s.

Rules (PROTOCOL.md, "Call lifecycle"):
- a peer is in at most one live call, and so is a citizen;
- the kiosk and the ringing staff member are participants from the first ring;
- the call ends when the kiosk leaves or when no staff participant is left; a participant in
  its reconnect grace period still counts, since it may come back;
- open invitations reserve a seat, so capacity counts participants plus invitations.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from server.rooms.errors import (
    Busy,
    Forbidden,
    InvalidState,
    NotAMember,
    NotInvited,
    RoomFull,
    UnknownCall,
)
from server.vocabulary import CallState, EndReason, PeerKind

DEFAULT_MAX_PARTICIPANTS = 6


@dataclass(frozen=True, slots=True)
class Participant:
    """One seat in a call, held by the peer id of the socket currently using it."""

    peer_id: str
    kind: PeerKind
    identity_id: str  # staff user id, kiosk id or guest id: stable across reconnects
    resume_token: str = field(default="", repr=False)
    connected: bool = True

    @property
    def is_staff(self) -> bool:
        """True for nurses, carers and other municipal staff."""
        return self.kind is PeerKind.STAFF


def _frozen(items: Mapping[str, Participant]) -> Mapping[str, Participant]:
    """A read-only copy, so snapshots cannot be changed behind the registry's back."""
    return MappingProxyType(dict(items))


def _no_invitations() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LiveCall:
    """Immutable snapshot of one live call."""

    call_id: str
    citizen_id: str
    participants: Mapping[str, Participant]  # by peer id
    state: CallState = CallState.RINGING
    visit_id: str | None = None
    invited: Mapping[str, str] = field(default_factory=_no_invitations)  # identity → inviter
    max_participants: int = DEFAULT_MAX_PARTICIPANTS

    @property
    def kiosk(self) -> Participant | None:
        """The citizen's kiosk; None only in the final snapshot after it left."""
        return next((p for p in self.participants.values() if p.kind is PeerKind.KIOSK), None)

    @property
    def staff(self) -> tuple[Participant, ...]:
        """Staff participants, connected or within their grace period."""
        return tuple(p for p in self.participants.values() if p.is_staff)

    @property
    def seats_taken(self) -> int:
        """Participants plus open invitations."""
        return len(self.participants) + len(self.invited)

    def participant(self, peer_id: str) -> Participant | None:
        """The seat held by `peer_id`, if any."""
        return self.participants.get(peer_id)

    def is_member(self, peer_id: str) -> bool:
        """True if `peer_id` holds a seat."""
        return peer_id in self.participants

    def is_invited(self, identity_id: str) -> bool:
        """True if this colleague has an open invitation."""
        return identity_id in self.invited

    def others(self, peer_id: str) -> tuple[Participant, ...]:
        """Every participant except `peer_id`: the audience of its events."""
        return tuple(p for p in self.participants.values() if p.peer_id != peer_id)


@dataclass(frozen=True, slots=True)
class Ended:
    """A call ended; `call` is the final snapshot, whose participants must be told."""

    call: LiveCall
    reason: EndReason
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Left:
    """A participant left; tell `call.participants`, which end the call too if `ended` is set."""

    call: LiveCall
    peer: Participant
    ended: EndReason | None = None


@dataclass(frozen=True, slots=True)
class Resumed:
    """A participant took its seat back under a new peer id."""

    call: LiveCall
    old_peer_id: str
    peer: Participant


class RoomRegistry:
    """All live calls of this process, indexed by call, peer and citizen."""

    def __init__(self, max_participants: int = DEFAULT_MAX_PARTICIPANTS) -> None:
        if max_participants < 2:
            raise ValueError("a call needs room for at least two participants")
        self.max_participants = max_participants
        self._calls: dict[str, LiveCall] = {}
        self._peer_calls: dict[str, str] = {}
        self._citizen_calls: dict[str, str] = {}

    # -- lookups ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._calls)

    def calls(self) -> tuple[LiveCall, ...]:
        """Every live call (for metrics and shutdown)."""
        return tuple(self._calls.values())

    def find(self, call_id: str) -> LiveCall | None:
        """The live call with this id, or None."""
        return self._calls.get(call_id)

    def get(self, call_id: str) -> LiveCall:
        """The live call with this id; raise UnknownCall otherwise."""
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCall(call_id)
        return call

    def call_of(self, peer_id: str) -> LiveCall | None:
        """The one call in which `peer_id` holds a seat, if any."""
        call_id = self._peer_calls.get(peer_id)
        return None if call_id is None else self._calls[call_id]

    def call_of_citizen(self, citizen_id: str) -> LiveCall | None:
        """The citizen's live call, if any."""
        call_id = self._citizen_calls.get(citizen_id)
        return None if call_id is None else self._calls[call_id]

    def is_member(self, call_id: str, peer_id: str) -> bool:
        """True if `peer_id` holds a seat in the live call `call_id`."""
        return self._peer_calls.get(peer_id) == call_id

    def resumable(self, kind: PeerKind, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls where this identity has a seat waiting in its grace period."""
        return tuple(c for c in self._calls.values() if _waiting_seat(c, kind, identity_id))

    def invitations(self, identity_id: str) -> tuple[LiveCall, ...]:
        """Calls with an open invitation for this colleague (e.g. for a newly opened tab)."""
        return tuple(c for c in self._calls.values() if c.is_invited(identity_id))

    def load(self, call: LiveCall) -> None:
        """Take in a call held elsewhere (a shared book works on a scratch registry per step)."""
        self._put(call)

    # -- ringing ---------------------------------------------------------------------------

    def start_ring(
        self,
        call_id: str,
        citizen_id: str,
        caller: Participant,
        kiosk: Participant,
        *,
        visit_id: str | None = None,
    ) -> LiveCall:
        """Create a ringing call between a staff caller and the citizen's kiosk."""
        # A guest rings only as a relative from her call link (signaling.relatives checks it).
        if caller.kind not in (PeerKind.STAFF, PeerKind.GUEST) or kiosk.kind is not PeerKind.KIOSK:
            raise ValueError("a call is rung by staff (or a relative) to a kiosk")
        if call_id in self._calls or caller.peer_id == kiosk.peer_id:
            raise ValueError("call ids and the two peer ids must be unique")
        self._check_free(call_id, citizen_id, caller.peer_id, kiosk.peer_id)
        if any(_has_identity(c, caller.kind, caller.identity_id) for c in self._calls.values()):
            # The same nurse in a second tab: one call at a time per person, not per tab.
            raise Busy(call_id, "the caller is already in a call")
        call = LiveCall(
            call_id=call_id,
            citizen_id=citizen_id,
            participants=_frozen({caller.peer_id: caller, kiosk.peer_id: kiosk}),
            visit_id=visit_id,
            max_participants=self.max_participants,
        )
        self._put(call)
        return call

    def accept(self, call_id: str, peer_id: str) -> LiveCall:
        """The kiosk answers: the call becomes active."""
        self._kiosk_seat(call_id, peer_id)
        return self._put(replace(self._ringing(call_id), state=CallState.ACTIVE))

    def decline(self, call_id: str, peer_id: str) -> Ended:
        """The kiosk declines the ring: the call ends."""
        self._kiosk_seat(call_id, peer_id)
        return self._end(self._ringing(call_id), EndReason.DECLINED, peer_id)

    def cancel(self, call_id: str, peer_id: str) -> Ended:
        """A staff participant withdraws the ring before it is answered."""
        seat = self._seat(call_id, peer_id)
        if not seat.is_staff:
            raise Forbidden(call_id, "only staff can cancel a ring")
        return self._end(self._ringing(call_id), EndReason.CANCELLED, peer_id)

    def abort(self, call_id: str) -> Ended | None:
        """The server stops: end the call as lost; None if it ended meanwhile."""
        call = self._calls.get(call_id)
        return None if call is None else self._end(call, EndReason.SERVER_LOST, None)

    def timeout(self, call_id: str) -> Ended | None:
        """The ring timer fired; None if the call was answered or ended meanwhile."""
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.RINGING:
            return None
        return self._end(call, EndReason.NO_ANSWER, None)

    # -- colleagues ------------------------------------------------------------------------

    def invite(self, call_id: str, by_peer_id: str, identity_id: str) -> LiveCall:
        """A staff participant invites a colleague; the invitation reserves a seat."""
        seat = self._seat(call_id, by_peer_id)
        call = self._active(call_id)
        if not seat.is_staff:
            raise Forbidden(call_id, "only staff can invite")
        if call.is_invited(identity_id) or _has_identity(call, PeerKind.STAFF, identity_id):
            raise InvalidState(call_id, "already invited or in the call")
        if call.seats_taken >= call.max_participants:
            raise RoomFull(call_id, f"{call.max_participants} seats taken")
        invited = MappingProxyType({**call.invited, identity_id: by_peer_id})
        return self._put(replace(call, invited=invited))

    def join(self, call_id: str, peer: Participant) -> LiveCall:
        """An invited colleague accepts: its socket takes the reserved seat."""
        call = self._active(call_id)
        if not call.is_invited(peer.identity_id):
            raise NotInvited(call_id)
        if not peer.is_staff:
            raise Forbidden(call_id, "only staff join by invitation")
        # No capacity check here: the invitation already holds this seat.
        self._check_peer_free(call_id, peer.peer_id)
        return self._put(
            replace(
                call,
                participants=_frozen({**call.participants, peer.peer_id: peer}),
                invited=_without_invitation(call, peer.identity_id),
            )
        )

    def decline_invite(self, call_id: str, identity_id: str) -> LiveCall:
        """The colleague declines; the reserved seat is released."""
        call = self.get(call_id)
        if not call.is_invited(identity_id):
            raise NotInvited(call_id)
        return self._put(replace(call, invited=_without_invitation(call, identity_id)))

    def expire_invite(self, call_id: str, identity_id: str) -> LiveCall | None:
        """The invitation timer fired; None if it was answered or the call ended meanwhile."""
        call = self._calls.get(call_id)
        if call is None or not call.is_invited(identity_id):
            return None
        return self.decline_invite(call_id, identity_id)

    def admit(self, call_id: str, guest: Participant) -> LiveCall:
        """A host lets a guest in from the lobby: a seat if one is free (guests count)."""
        call = self._active(call_id)
        if guest.kind is not PeerKind.GUEST:
            raise Forbidden(call_id, "only guests are admitted from the lobby")
        if call.seats_taken >= call.max_participants:
            raise RoomFull(call_id, f"{call.max_participants} seats taken")
        self._check_peer_free(call_id, guest.peer_id)
        return self._put(_with_seat(call, guest))

    # -- leaving and reconnecting ----------------------------------------------------------

    def leave(self, call_id: str, peer_id: str, reason: EndReason = EndReason.HANGUP) -> Left:
        """A participant hangs up (or its grace expired); may end the call."""
        seat = self._seat(call_id, peer_id)
        return self._settle(_without_seat(self._calls[call_id], peer_id), seat, reason)

    def disconnect(self, peer_id: str) -> LiveCall | None:
        """The peer's socket dropped: keep its seat for the grace period."""
        call = self.call_of(peer_id)
        seat = None if call is None else call.participant(peer_id)
        if call is None or seat is None or not seat.connected:
            return None
        return self._put(_with_seat(call, replace(seat, connected=False)))

    def expire_grace(self, call_id: str, peer_id: str) -> Left | None:
        """The grace timer fired; None if the seat was resumed or freed meanwhile."""
        call = self._calls.get(call_id)
        seat = None if call is None else call.participant(peer_id)
        if seat is None or seat.connected:
            return None
        return self.leave(call_id, peer_id, EndReason.CONNECTION_LOST)

    def resume(self, call_id: str, resume_token: str, peer: Participant) -> Resumed:
        """A reconnected socket takes back its seat; the old peer id disappears."""
        call = self.get(call_id)
        old = _seat_for_token(call, resume_token, peer)
        if old is None:
            raise NotAMember(call_id, "no seat for this resume token")
        self._check_peer_free(call_id, peer.peer_id)
        seats = {pid: p for pid, p in call.participants.items() if pid != old.peer_id}
        seats[peer.peer_id] = replace(peer, connected=True)
        call = self._put(replace(call, participants=_frozen(seats)))
        return Resumed(call, old.peer_id, call.participants[peer.peer_id])

    # -- internals -------------------------------------------------------------------------

    def _seat(self, call_id: str, peer_id: str) -> Participant:
        """The seat of `peer_id` in the call; UnknownCall or NotAMember otherwise."""
        seat = self.get(call_id).participant(peer_id)
        if seat is None:
            raise NotAMember(call_id, f"peer {peer_id}")
        return seat

    def _kiosk_seat(self, call_id: str, peer_id: str) -> Participant:
        """The seat of `peer_id`, which must be the call's kiosk."""
        seat = self._seat(call_id, peer_id)
        if seat.kind is not PeerKind.KIOSK:
            raise Forbidden(call_id, "only the kiosk answers a ring")
        return seat

    def _ringing(self, call_id: str) -> LiveCall:
        """The call, which must still be ringing."""
        call = self.get(call_id)
        if call.state is not CallState.RINGING:
            raise InvalidState(call_id, f"call is {call.state}")
        return call

    def _active(self, call_id: str) -> LiveCall:
        """The call, which must be active."""
        call = self.get(call_id)
        if call.state is not CallState.ACTIVE:
            raise InvalidState(call_id, f"call is {call.state}")
        return call

    def _check_free(self, call_id: str, citizen_id: str, *peer_ids: str) -> None:
        """Raise Busy if the citizen or any of the peers is already in a live call."""
        if citizen_id in self._citizen_calls:
            raise Busy(call_id, "citizen already in a call")
        for peer_id in peer_ids:
            self._check_peer_free(call_id, peer_id)

    def _check_peer_free(self, call_id: str, peer_id: str) -> None:
        """Raise Busy if the peer holds a seat in another call."""
        if peer_id in self._peer_calls:
            raise Busy(call_id, f"peer {peer_id} already in a call")

    def _settle(self, call: LiveCall, leaver: Participant, reason: EndReason) -> Left:
        """Store the call after a departure, or end it if the kiosk or the last staff left."""
        if call.kiosk is not None and call.staff:
            return Left(self._put(call), leaver)
        ended = self._end(call, _ending_reason(call, leaver, reason), leaver.peer_id)
        return Left(ended.call, leaver, ended.reason)

    def _put(self, call: LiveCall) -> LiveCall:
        """Store a new snapshot and re-index its participants."""
        previous = self._calls.get(call.call_id)
        for peer_id in previous.participants if previous else ():
            self._unindex(peer_id)
        self._calls[call.call_id] = call
        self._citizen_calls[call.citizen_id] = call.call_id
        self._peer_calls.update(dict.fromkeys(call.participants, call.call_id))
        return call

    def _end(self, call: LiveCall, reason: EndReason, by: str | None) -> Ended:
        """Forget the call and hand out its final snapshot."""
        for peer_id in self._calls[call.call_id].participants:
            self._unindex(peer_id)
        del self._calls[call.call_id]
        del self._citizen_calls[call.citizen_id]
        return Ended(replace(call, state=CallState.ENDED), reason, by)

    def _unindex(self, peer_id: str) -> None:
        self._peer_calls.pop(peer_id, None)


def _waiting_seat(call: LiveCall, kind: PeerKind, identity_id: str) -> bool:
    """True if this identity has a disconnected seat in the call."""
    return any(
        p.kind is kind and p.identity_id == identity_id and not p.connected
        for p in call.participants.values()
    )


def _has_identity(call: LiveCall, kind: PeerKind, identity_id: str) -> bool:
    """True if some participant is this person or device, whatever its peer id. (Ids are only
    unique within a kind: staff member 5 and tablet 5 are two different things.)"""
    return any(p.kind is kind and p.identity_id == identity_id for p in call.participants.values())


def _with_seat(call: LiveCall, seat: Participant) -> LiveCall:
    """The call with `seat` replacing the seat of the same peer id."""
    return replace(call, participants=_frozen({**call.participants, seat.peer_id: seat}))


def _without_seat(call: LiveCall, peer_id: str) -> LiveCall:
    """The call without the seat of `peer_id`."""
    seats = {pid: p for pid, p in call.participants.items() if pid != peer_id}
    return replace(call, participants=_frozen(seats))


def _without_invitation(call: LiveCall, identity_id: str) -> Mapping[str, str]:
    """The open invitations minus this colleague's."""
    return MappingProxyType({k: v for k, v in call.invited.items() if k != identity_id})


def _seat_for_token(call: LiveCall, token: str, peer: Participant) -> Participant | None:
    """The seat `token` resumes for `peer`, if any."""
    # Kind and identity must match too: a leaked token alone cannot move a seat elsewhere.
    candidates = (
        p
        for p in call.participants.values()
        if p.kind is peer.kind and p.identity_id == peer.identity_id and p.resume_token
    )
    # Compare bytes: compare_digest refuses non-ASCII str, and the token comes from a client.
    wanted = token.encode()
    return next(
        (p for p in candidates if hmac.compare_digest(p.resume_token.encode(), wanted)), None
    )


def _ending_reason(call: LiveCall, leaver: Participant, reason: EndReason) -> EndReason:
    """A hang-up while ringing is a decline by the kiosk or a cancel by the caller."""
    if call.state is not CallState.RINGING or reason is not EndReason.HANGUP:
        return reason
    return EndReason.DECLINED if leaver.kind is PeerKind.KIOSK else EndReason.CANCELLED
