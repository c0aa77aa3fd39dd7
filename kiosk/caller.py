"""A staff caller for tests, benchmarks and scripts: log in, ring a citizen, exchange media."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from types import TracebackType
from typing import Self

import aiohttp

from server.signaling.messages import (
    Accept,
    CallSnapshot,
    Cancel,
    Hangup,
    Invite,
    Invited,
    Ring,
    ServerMessage,
    Welcome,
)

from .media import TEST_PATTERN, open_media
from .participant import Participant
from .signaling import SignalingClient, ws_url

logger = logging.getLogger(__name__)

SESSION_COOKIE = "sv_session"
CONNECT_TIMEOUT_S = 10.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class LoginFailed(Exception):
    """The login form did not accept the credentials (or had no CSRF token)."""


def csrf_token(html: str) -> str:
    """The CSRF token the login page embeds in its form."""
    match = _CSRF.search(html)
    if match is None:
        raise LoginFailed("login page has no csrf_token field")
    return match.group(1)


class StaffCaller(Participant):
    """A logged-in staff member's socket: ring, invite, accept invitations, hang up.

    Use as `async with StaffCaller(url) as caller: await caller.login(...); await caller.connect()`.
    """

    def __init__(
        self,
        server_url: str,
        *,
        media: str = TEST_PATTERN,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        # unsafe=True: the jar otherwise refuses cookies from IP hosts such as 127.0.0.1.
        self.http = http or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._owns_http = http is None
        self.server_url = server_url.rstrip("/")
        super().__init__(SignalingClient(self.http, ws_url(server_url)), lambda: open_media(media))
        self.invitations: asyncio.Queue[Invited] = asyncio.Queue()
        self.call_id: str | None = None
        self.rang_at: float | None = None
        self._joining: str | None = None  # an invitation we accepted: we offer when we enter
        self._runner: asyncio.Task[int | None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def login(self, username: str, password: str) -> None:
        """Log in through the real form: GET /login for the CSRF token, then POST it."""
        async with self.http.get(self.server_url + "/login") as page:
            token = csrf_token(await page.text())
        form = {"username": username, "password": password, "csrf_token": token}
        async with self.http.post(
            self.server_url + "/login", data=form, allow_redirects=False
        ) as response:
            if response.status != 303 or SESSION_COOKIE not in response.cookies:
                raise LoginFailed(f"login answered {response.status}")

    async def connect(self) -> Welcome:
        """Open the signalling socket (authenticated by the session cookie); the welcome.

        Raises ConnectionError when the server refuses us or does not answer within 10 s.
        """
        self._runner = asyncio.create_task(self.client.run(self.handle), name="staff-signalling")
        waiter = asyncio.create_task(self.client.authenticated.wait())
        await asyncio.wait(
            {waiter, self._runner}, timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if self.client.welcome is None:
            raise ConnectionError(f"signalling refused (close code {self.client.close_code})")
        return self.client.welcome

    async def ring(self, citizen_id: str, visit_id: str | None = None) -> str:
        """Ring the citizen's kiosk; the call id. Raises SignalingError (offline, busy …)."""
        self.ended.clear()
        self.rang_at = self.clock()
        reply = await self.client.request(Ring(citizen_id=citizen_id, visit_id=visit_id))
        if not isinstance(reply, CallSnapshot):
            raise ConnectionError(f"unexpected reply to ring: {reply.type}")
        self.call_id = reply.call_id
        return reply.call_id

    async def invite(self, user_id: str, call_id: str | None = None) -> None:
        """Ask a colleague into the current (or given) call."""
        await self.client.send(Invite(call_id=self._call(call_id), user_id=user_id))

    async def accept_invite(self, call_id: str) -> None:
        """Accept an invitation: we join and offer to every participant (mesh)."""
        self.ended.clear()
        self.rang_at = self.clock()
        self._joining = call_id
        await self.client.send(Accept(call_id=call_id))

    async def cancel(self) -> None:
        """Withdraw the ring before the kiosk answers."""
        await self.client.send(Cancel(call_id=self._call(None)))

    async def hangup(self) -> None:
        """Leave the call; our media closes at once, the server tells the others."""
        call_id = self._call(None)
        self.client.forget_call()
        with contextlib.suppress(ConnectionError):
            await self.client.send(Hangup(call_id=call_id))
        await self.leave_call("hangup")

    def stats(self) -> dict[str, object]:
        """JSON-ready: the call, signalling round trip and per-peer media counters."""
        call_stats = self.call.stats() if self.call is not None else self.last_stats or {}
        rtt = self.client.rtt_s
        return {
            **call_stats,
            "signalling_rtt_ms": None if rtt is None else round(rtt * 1000, 1),
            "ended": self.end_reason,
        }

    async def close(self) -> None:
        """Hang up if needed, close the socket and the HTTP session."""
        if self.call is not None:
            with contextlib.suppress(ConnectionError):
                await self.hangup()
        await self.client.stop()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        await self.leave_call(self.end_reason or "closed")
        if self._owns_http:
            await self.http.close()

    async def on_message(self, message: ServerMessage) -> None:
        """Invitations are queued for the script or test to accept."""
        if isinstance(message, Invited):
            logger.info("invited to %s by %s", message.call_id, message.by.name)
            self.invitations.put_nowait(message)

    async def on_call_state(self, snapshot: CallSnapshot) -> None:
        """Enter the call when it becomes active; offer only if we joined it ourselves."""
        self.call_id = snapshot.call_id
        if self.call is None and snapshot.state == "active":
            joined = snapshot.call_id == self._joining
            started = self.rang_at if self.rang_at is not None else self.clock()
            await self.enter_call(snapshot, offer=joined, started_at=started)
            return
        await super().on_call_state(snapshot)

    def _call(self, call_id: str | None) -> str:
        found = call_id or self.call_id
        if found is None:
            raise RuntimeError("not in a call")
        return found
