"""Signalling failures and the one function that maps any of them to an error reply."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import DATABASE_BUSY
from ..rooms.errors import RoomError
from ..shared_state import REDIS_AWAY
from .messages import CloseCode, Error, ErrorCode, MessageError


class SignalingError(Exception):
    """A refused message: ``code`` goes to the client; ``close`` set means drop the socket."""

    def __init__(self, code: ErrorCode, message: str, *, close: CloseCode | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.close = close


@dataclass(frozen=True, slots=True)
class Refusal:
    """What to send back for a failure, and whether to close the socket afterwards."""

    error: Error
    close: CloseCode | None = None


def refusal_for(exc: Exception, ref: int | None) -> Refusal:
    """Map domain, protocol and signalling errors to a reply (galene's errorToWSCloseMessage)."""
    if isinstance(exc, SignalingError):
        return Refusal(Error(code=exc.code, message=exc.message, ref=ref), exc.close)
    if isinstance(exc, MessageError):
        return Refusal(Error(code=exc.code, message=exc.message, ref=exc.ref))
    if isinstance(exc, RoomError):
        return Refusal(Error(code=ErrorCode(exc.code), message=str(exc)[:500], ref=ref))
    if isinstance(exc, DATABASE_BUSY + REDIS_AWAY):  # nothing done: the client may repeat
        return Refusal(Error(code=ErrorCode.TRY_AGAIN, message="busy, try again", ref=ref))
    return Refusal(
        Error(code=ErrorCode.INTERNAL_ERROR, message="internal error", ref=ref),
        CloseCode.INTERNAL_ERROR,
    )
