"""What the kiosk agent and the staff caller share: being a participant of at most one call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from server.signaling.messages import (
    CallEnded,
    CallSnapshot,
    Error,
    ServerMessage,
    Welcome,
)

from .media import TEST_PATTERN, LocalMedia, open_media
from .peers import Clock
from .session import CallSession
from .signaling import SignalingClient

logger = logging.getLogger(__name__)

MediaFactory = Callable[[], LocalMedia]


class Participant:
    """Follows the call this socket is in: enters it, resumes it, leaves it when it ends.

    Subclasses add their own messages (a ring for the kiosk, invitations for staff) by
    overriding `on_message`, and call `enter_call` when a call becomes active for them.
    """

    def __init__(
        self,
        client: SignalingClient,
        media_factory: MediaFactory | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.client = client
        self.call: CallSession | None = None
        self.ended = asyncio.Event()  # set when a call we were in ends
        self.end_reason: str | None = None
        self.last_stats: dict[str, object] | None = None
        self.clock = clock
        self._media_factory = media_factory or (lambda: open_media(TEST_PATTERN))
        self._entered = asyncio.Condition()

    async def handle(self, message: ServerMessage) -> None:
        """Dispatch one server message (the SignalingClient's handler)."""
        match message:
            case Welcome():
                await self._welcome(message)
            case CallSnapshot():
                await self.on_call_state(message)
            case CallEnded():
                await self._call_ended(message)
            case Error():
                logger.warning("server error %s: %s", message.code, message.message)
            case _:
                await self.on_message(message)
                if self.call is not None:
                    await self.call.handle(message)

    async def on_message(self, message: ServerMessage) -> None:
        """Messages this kind of participant handles itself (default: none)."""

    async def on_call_state(self, snapshot: CallSnapshot) -> None:
        """A call-state arrived: by default, keep the current call's view up to date."""
        if self.call is not None and self.call.call_id == snapshot.call_id:
            self.call.update(snapshot)

    def camera_for(self, snapshot: CallSnapshot) -> bool:
        """Whether to send video in this call (the kiosk hides it for bath guidance)."""
        return True

    async def enter_call(self, snapshot: CallSnapshot, *, offer: bool, started_at: float) -> None:
        """Start the media side of an active call; offer when we are the one who just entered."""
        self.call = CallSession(
            self.client,
            snapshot,
            self._media_factory(),
            camera=self.camera_for(snapshot),
            started_at=started_at,
            clock=self.clock,
        )
        async with self._entered:
            self._entered.notify_all()
        if offer:
            await self.call.offer_to_all()

    async def wait_call(self) -> CallSession:
        """The active call, waiting for one to start (wrap in asyncio.timeout)."""
        async with self._entered:
            await self._entered.wait_for(lambda: self.call is not None)
        assert self.call is not None  # for mypy: wait_for checked it
        return self.call

    async def leave_call(self, reason: str) -> None:
        """Close the media of the current call and remember how it ended."""
        call, self.call = self.call, None
        if call is not None:
            self.last_stats = call.stats()
            await call.close()
        self.end_reason = reason
        self.ended.set()

    async def _welcome(self, welcome: Welcome) -> None:
        identity = welcome.identity
        logger.info(
            "signalling: authenticated as %s %s (citizen %s)",
            identity.kind,
            identity.id,
            identity.citizen_id or "-",
        )
        resumed = welcome.resumed
        if self.call is not None and (resumed is None or resumed.call_id != self.call.call_id):
            logger.info("call %s: seat gone after reconnect", self.call.call_id)
            await self.leave_call("connection_lost")
        if resumed is None or resumed.state != "active":
            return
        if self.call is not None:
            await self.call.resume(resumed)
        else:
            await self.enter_call(resumed, offer=True, started_at=self.clock())

    async def _call_ended(self, ended: CallEnded) -> None:
        logger.info("call %s ended: %s", ended.call_id, ended.reason)
        await self.on_call_ended(ended)
        if self.call is None or self.call.call_id == ended.call_id:
            await self.leave_call(ended.reason)

    async def on_call_ended(self, ended: CallEnded) -> None:
        """Hook for subclasses (cancel a pending auto-answer)."""
