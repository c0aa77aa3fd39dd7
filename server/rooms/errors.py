"""Domain errors of live calls; the signalling handler maps `code` to an `error` reply."""

from __future__ import annotations

from typing import ClassVar


class RoomError(Exception):
    """Base of every live-call error; `code` is a stable signalling error code."""

    code: ClassVar[str] = "invalid_state"

    def __init__(self, call_id: str, detail: str = "") -> None:
        super().__init__(call_id, detail)
        self.call_id = call_id
        self.detail = detail

    def __str__(self) -> str:
        suffix = f": {self.detail}" if self.detail else ""
        return f"call {self.call_id}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(call_id={self.call_id!r}, detail={self.detail!r})"


class UnknownCall(RoomError):
    """No live call has this id (it never existed or has ended)."""

    code = "unknown_call"


class NotAMember(RoomError):
    """The peer is not a participant of the call, or its resume token does not match."""

    code = "not_member"


class NotInvited(RoomError):
    """The colleague has no open invitation to the call."""

    code = "forbidden"


class Forbidden(RoomError):
    """The peer is a member but its kind may not do this (a kiosk inviting, a guest cancelling)."""

    code = "forbidden"


class InvalidState(RoomError):
    """The call is not in a state that allows the operation (accepting an active call…)."""

    code = "invalid_state"


class RoomFull(RoomError):
    """Participants plus open invitations have reached the call's capacity."""

    code = "room_full"


class Busy(RoomError):
    """The citizen or the peer is already in another live call."""

    code = "busy"
