"""The headless kiosk agent: online for one citizen's tablet, answers rings, sends media."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

import aiohttp

from server.signaling.messages import (
    Accept,
    CallEnded,
    CallSnapshot,
    Decline,
    IncomingRing,
    ServerMessage,
)

from .media import TEST_PATTERN, open_media
from .participant import Participant
from .signaling import SignalingClient, ws_url

logger = logging.getLogger(__name__)

AnswerMode = Literal["auto", "always", "never"]
POLICY_RETRY_S = 180.0  # a revoked tablet shows "call home care" and tries again now and then


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How the agent behaves with nobody at the tablet to press the green button."""

    answer: AnswerMode = "auto"
    answer_delay_s: float = 2.0
    media: str = TEST_PATTERN


def answer_delay(ring: IncomingRing, options: AgentOptions) -> float | None:
    """Seconds until the agent accepts this ring, or None to let it ring out.

    `auto` follows only the server's auto-answer (the citizen's consent); `always` also answers
    rings without it (monitoring, load tests); `never` answers nothing (no-answer escalation).
    """
    if options.answer == "never":
        return None
    if ring.auto_answer_after_s is not None:
        return float(ring.auto_answer_after_s)
    return options.answer_delay_s if options.answer == "always" else None


class KioskAgent(Participant):
    """One tablet: stays online (presence), answers rings by policy, offers media once accepted."""

    def __init__(
        self, http: aiohttp.ClientSession, server_url: str, token: str, options: AgentOptions
    ) -> None:
        client = SignalingClient(
            http, ws_url(server_url), token=token, policy_retry_s=POLICY_RETRY_S
        )
        super().__init__(client, lambda: open_media(options.media))
        self.options = options
        self.ringing: IncomingRing | None = None
        self.rang_at: float | None = None
        self._accepted: str | None = None  # the call we accepted: we offer when it is active
        self._answering: asyncio.Task[None] | None = None

    async def run(self) -> int:
        """Run until stopped (exit status 0) or closed for good by the server (1)."""
        try:
            code = await self.client.run(self.handle)
        finally:
            self._cancel_answer()
            await self.leave_call("stopped")
        if code is not None:
            logger.error("signalling closed for good (%s); exiting", code)
            return 1
        return 0

    async def stop(self) -> None:
        """Close the socket; run() then closes the call and returns."""
        await self.client.stop()

    async def on_message(self, message: ServerMessage) -> None:
        """Rings are ours to handle; everything else belongs to the call."""
        if isinstance(message, IncomingRing):
            self._ring(message)

    def _ring(self, ring: IncomingRing) -> None:
        caller = ring.caller
        logger.info(
            "ring %s from %s (%s), visit %s %s",
            ring.call_id,
            caller.name,
            caller.role or caller.kind,
            ring.visit_type or "-",
            ring.visit_id or "-",
        )
        self.ringing = ring
        self.rang_at = self.clock()
        self.ended.clear()
        self._cancel_answer()
        delay = answer_delay(ring, self.options)
        if delay is None:
            logger.info("ring %s: not answering (--answer %s)", ring.call_id, self.options.answer)
            return
        self._answering = asyncio.create_task(self._answer_after(ring.call_id, delay))

    async def _answer_after(self, call_id: str, delay: float) -> None:
        """The auto-answer countdown; cancelled by call-ended (declined, cancelled, timeout)."""
        await asyncio.sleep(delay)
        if self.ringing is None or self.ringing.call_id != call_id:
            return
        logger.info("ring %s: accepting", call_id)
        self._accepted = call_id
        with contextlib.suppress(ConnectionError):  # a resume will bring the ring back
            await self.client.send(Accept(call_id=call_id))

    async def decline(self) -> None:
        """The red button: refuse the ringing call (the server ends it as `declined`)."""
        ring = self.ringing
        if ring is None:
            raise RuntimeError("nothing is ringing")
        self._cancel_answer()
        await self.client.send(Decline(call_id=ring.call_id))

    def _cancel_answer(self) -> None:
        if self._answering is not None:
            self._answering.cancel()
            self._answering = None

    def camera_for(self, snapshot: CallSnapshot) -> bool:
        """Bath guidance starts with the citizen's camera hidden."""
        ring = self.ringing
        return not (ring is not None and ring.call_id == snapshot.call_id and ring.camera_off)

    async def on_call_state(self, snapshot: CallSnapshot) -> None:
        """Our accept made the call active: we have just entered, so we offer to everybody."""
        if self.call is None and snapshot.state == "active" and snapshot.call_id == self._accepted:
            started = self.rang_at if self.rang_at is not None else self.clock()
            await self.enter_call(snapshot, offer=True, started_at=started)
            return
        await super().on_call_state(snapshot)

    async def on_call_ended(self, ended: CallEnded) -> None:
        """Stop a pending auto-answer for a call that is over."""
        if self.ringing is not None and self.ringing.call_id == ended.call_id:
            self._cancel_answer()
            self.ringing = None
        if self._accepted == ended.call_id:
            self._accepted = None
