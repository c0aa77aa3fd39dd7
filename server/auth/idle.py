"""An open console socket counts as use of its login session (the idle limit).

A nurse in a long call, or with the call view open between calls, makes no HTTP request for
many minutes; her socket is the sign she is there. Every minute each process moves the
deadline of the login sessions behind its open staff sockets (``sessions.keep_alive``), so
only a session with no request *and* no open socket for ``SESSION_IDLE_MINUTES`` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection

from aiohttp import web

from ..keys import sessionmaker_key, settings_key
from ..models import utcnow
from .sessions import SessionWindow, keep_alive

logger = logging.getLogger(__name__)
KEEPALIVE_EVERY_S = 60.0
LiveSessions = Callable[[web.Application], Collection[int]]


async def keep_sockets_alive(app: web.Application, live: LiveSessions) -> int:
    """One pass: the sessions behind this process's open staff sockets count as used now."""
    settings = app[settings_key]
    window = SessionWindow.of(settings.session_hours, settings.session_idle_minutes)
    ids = set(live(app))
    if window.idle is None or not ids:
        return 0
    async with app[sessionmaker_key].begin() as session:
        return await keep_alive(session, ids, window, utcnow())


def keepalive_ctx(
    live: LiveSessions, every_s: float = KEEPALIVE_EVERY_S
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """A cleanup context running ``keep_sockets_alive`` every ``every_s`` seconds."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(app, live, every_s))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def _loop(app: web.Application, live: LiveSessions, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await keep_sockets_alive(app, live)
        except Exception:  # a database restart must not end the loop
            logger.exception("keeping live console sessions alive failed")
