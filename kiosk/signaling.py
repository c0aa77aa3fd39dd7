"""Signalling client: one WebSocket to /ws, hello/welcome, reconnect with backoff and resume."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from pydantic import ValidationError

from server.signaling.messages import (
    PROTOCOL_VERSION,
    CallEnded,
    CallSnapshot,
    ClientMessage,
    CloseCode,
    Error,
    ErrorCode,
    Hello,
    IncomingRing,
    Ping,
    Pong,
    ResumeRequest,
    ServerMessage,
    Welcome,
    server_message,
)

from .backoff import Backoff

logger = logging.getLogger(__name__)

Handler = Callable[[ServerMessage], Awaitable[None]]

AGENT = "screenvisit-kiosk/0.1"
REPLY_TIMEOUT_S = 10.0
# Close codes after which reconnecting cannot help (PROTOCOL.md, "Close codes").
FINAL_CLOSE_CODES = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.MESSAGE_TOO_BIG,
        CloseCode.REPLACED,
    }
)
# A resume that fails is answered with one of these, with ref = the hello's id.
SEAT_GONE = frozenset({ErrorCode.UNKNOWN_CALL, ErrorCode.NOT_MEMBER})


def ws_url(base: str) -> str:
    """The /ws URL of a server given by its http(s) (or ws(s)) base URL."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"not an http(s) or ws(s) URL: {base!r}")
    path = parts.path if parts.path.endswith("/ws") else parts.path.rstrip("/") + "/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class SignalingError(Exception):
    """The server answered a request with an `error`."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.code, error.message)
        self.code = error.code
        self.message = error.message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class SignalingClient:
    """Keeps one authenticated socket open, reconnecting and resuming until stopped.

    Messages are handed to the handler one at a time in arrival order, so negotiation steps
    never interleave; a separate reader task keeps answering pongs meanwhile.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        *,
        token: str | None = None,
        agent: str = AGENT,
        backoff: Backoff | None = None,
        policy_retry_s: float | None = None,
    ) -> None:
        self.url = url
        self.agent = agent
        self.backoff = backoff or Backoff()
        # Kiosks retry after 1008 ("call home care") every few minutes; staff stop (re-login).
        self.policy_retry_s = policy_retry_s
        self.reply_timeout_s = REPLY_TIMEOUT_S
        self.welcome: Welcome | None = None
        self.rtt_s: float | None = None
        self.close_code: int | None = None
        self.authenticated = asyncio.Event()
        self._http = http
        self._token = token
        self._ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._waiters: dict[int, asyncio.Future[ServerMessage]] = {}
        self._call_id: str | None = None
        self._hello_id: int | None = None
        self._stopping = asyncio.Event()
        self._stale = False
        self._ping_sent: dict[int, float] = {}

    @property
    def resume(self) -> ResumeRequest | None:
        """What the next hello presents to take back our seat, if we are in a call."""
        if self._call_id is None or self.welcome is None:
            return None
        return ResumeRequest(call_id=self._call_id, resume_token=self.welcome.resume_token)

    async def run(self, handler: Handler) -> int | None:
        """Connect, dispatch, reconnect; returns the final close code (None when stopped)."""
        while not self._stopping.is_set():
            await self._connect_once(handler)
            if self._stopping.is_set():
                break
            delay = self._retry_delay(self.close_code)
            if delay is None:
                break
            logger.info("signalling closed (%s); reconnecting in %.1f s", self.close_code, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return None if self._stopping.is_set() else self.close_code

    async def stop(self) -> None:
        """Close the socket normally and end run()."""
        self._stopping.set()
        if self._ws is not None:
            await self._ws.close(code=CloseCode.NORMAL)

    async def send(self, message: ClientMessage) -> int:
        """Send a message with a fresh `id`; returns that id. Raises ConnectionError if offline."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("signalling socket is not open")
        message_id = next(self._ids)
        message = message.model_copy(update={"id": message_id})
        logger.debug("> %s", message.type)
        await ws.send_str(message.model_dump_json())
        return message_id

    async def request(self, message: ClientMessage) -> ServerMessage:
        """Send and wait for the reply carrying our id as `ref`; an `error` raises."""
        future: asyncio.Future[ServerMessage] = asyncio.get_running_loop().create_future()
        message_id = next(self._ids)
        self._waiters[message_id] = future
        try:
            await self._send_with_id(message, message_id)
            async with asyncio.timeout(self.reply_timeout_s):
                reply = await future
        finally:
            self._waiters.pop(message_id, None)
        if isinstance(reply, Error):
            raise SignalingError(reply)
        return reply

    async def _send_with_id(self, message: ClientMessage, message_id: int) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("signalling socket is not open")
        await ws.send_str(message.model_copy(update={"id": message_id}).model_dump_json())

    def _retry_delay(self, code: int | None) -> float | None:
        """Seconds to wait before reconnecting, or None to give up."""
        if self._stale:
            return self.backoff.next_delay()
        if code in FINAL_CLOSE_CODES:
            return None
        if code == CloseCode.POLICY_VIOLATION:
            return self.policy_retry_s
        return self.backoff.next_delay()  # 1001, 1011, 1006 and failed connects

    async def _connect_once(self, handler: Handler) -> None:
        self._stale = False
        self.close_code = None
        try:
            # No Origin header: the server allows a missing Origin for non-browser clients.
            async with self._http.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
                self._ws = ws
                await self._session(ws, handler)
                self.close_code = ws.close_code
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.warning("signalling connect failed: %s", type(exc).__name__)
            self.close_code = None
        finally:
            self._ws = None
            self.authenticated.clear()
            self._fail_waiters()

    async def _session(self, ws: aiohttp.ClientWebSocketResponse, handler: Handler) -> None:
        """Say hello, then read until the socket closes; ping while authenticated."""
        inbox: asyncio.Queue[ServerMessage | None] = asyncio.Queue()
        self._hello_id = next(self._ids)
        hello = Hello(
            version=(PROTOCOL_VERSION,), token=self._token, resume=self.resume, agent=self.agent
        )
        await self._send_with_id(hello, self._hello_id)
        reader = asyncio.create_task(self._read(ws, inbox), name="signalling-reader")
        pinger = asyncio.create_task(self._ping_loop(ws), name="signalling-ping")
        try:
            while (message := await inbox.get()) is not None:
                await self._dispatch(handler, message)
        finally:
            pinger.cancel()
            reader.cancel()
            await asyncio.gather(pinger, reader, return_exceptions=True)

    async def _dispatch(self, handler: Handler, message: ServerMessage) -> None:
        """Run the handler; a bug in one handler must not take the kiosk offline."""
        try:
            await handler(message)
        except Exception:
            logger.exception("handling %s failed", message.type)

    async def _read(
        self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[ServerMessage | None]
    ) -> None:
        try:
            async for frame in ws:
                if frame.type is aiohttp.WSMsgType.TEXT:
                    message = self._parse(frame.data)
                    if message is not None and self._observe(message):
                        inbox.put_nowait(message)
        finally:
            inbox.put_nowait(None)

    def _parse(self, data: str) -> ServerMessage | None:
        try:
            return server_message.validate_json(data)
        except ValidationError as exc:
            # Counts and locations only: the frame may hold SDP or tokens.
            logger.warning("invalid server message dropped (%d errors)", exc.error_count())
            return None

    def _observe(self, message: ServerMessage) -> bool:
        """Track session state and replies; False for messages the handler need not see."""
        if isinstance(message, Pong):
            self._pong(message.ref)
            return False
        self._track_call(message)
        future = self._waiters.get(message.ref) if message.ref is not None else None
        if future is not None and not future.done():
            future.set_result(message)
        return True

    def _track_call(self, message: ServerMessage) -> None:
        """Remember the call we are in and the resume token, for the next hello."""
        match message:
            case Welcome():
                self.welcome = message
                self.backoff.reset()
                self.authenticated.set()
                self._call_id = message.resumed.call_id if message.resumed else None
            case CallSnapshot() | IncomingRing():
                # A ringing kiosk holds a seat too: after a drop it resumes and rings again.
                self._call_id = message.call_id
            case CallEnded() if message.call_id == self._call_id:
                self._call_id = None
            case Error() if message.ref == self._hello_id and message.code in SEAT_GONE:
                self._call_id = None

    def forget_call(self) -> None:
        """Stop resuming a call we left (hangup, decline)."""
        self._call_id = None

    async def _ping_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Ping every heartbeat; a pong more than a heartbeat late means a dead socket."""
        await self.authenticated.wait()
        interval = self.welcome.heartbeat_s if self.welcome else 20.0
        while not ws.closed:
            if self._ping_sent:
                logger.warning("pong overdue; reconnecting")
                self._stale = True
                await ws.close(code=CloseCode.GOING_AWAY)
                return
            message_id = next(self._ids)
            self._ping_sent[message_id] = time.monotonic()
            await self._send_with_id(Ping(), message_id)
            await asyncio.sleep(interval)

    def _pong(self, ref: int | None) -> None:
        sent = self._ping_sent.pop(ref, None) if ref is not None else None
        if sent is not None:
            self.rtt_s = time.monotonic() - sent

    def _fail_waiters(self) -> None:
        self._ping_sent.clear()
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(ConnectionError("signalling socket closed"))
