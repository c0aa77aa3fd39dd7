"""Hypothesis-generated WebSocket frames against the real server, as every identity."""

from __future__ import annotations

import asyncio
import functools
import time

from server.app import create_app
from server.settings import Settings
from server.signaling.messages import CloseCode, ErrorCode
from tests.authz.identities import IDENTITIES
from tests.conftest import ClientFactory, ServerFactory
from tests.fuzz.frames import Session, sessions
from tests.fuzz.profile import draw
from tests.fuzz.wire import (
    CLOSE_CODES,
    ERROR_CODES,
    Tally,
    build_stage,
    catching_tracebacks,
    run_session,
    settled,
)

SESSIONS = 40  # drawn once, sent on each backend: about 800 frames
SIDE_BY_SIDE = 8  # sockets open at once


@functools.cache
def _cases() -> list[Session]:
    """Drawn once for both backends."""
    return draw(sessions(tuple(who.name for who in IDENTITIES)), SESSIONS)


def test_protocol_document_and_code_name_the_same_codes() -> None:
    """Every error and close code of messages.py is in PROTOCOL.md's tables, and no other."""
    assert {code.value for code in ErrorCode} == ERROR_CODES
    assert {code.value for code in CloseCode} == CLOSE_CODES


async def test_fuzzed_frames_break_no_invariant(
    fuzz_settings: Settings, aiohttp_server: ServerFactory, aiohttp_client: ClientFactory
) -> None:
    """No internal_error, no 1011, only documented codes, no traceback logged, nothing left
    live once the sockets are closed."""
    app = create_app(fuzz_settings)
    server = await aiohttp_server(app)
    stage, held = await build_stage(fuzz_settings, lambda: aiohttp_client(server))
    cases = _cases()
    tally = Tally()
    started = time.monotonic()
    with catching_tracebacks() as caught:
        for at in range(0, len(cases), SIDE_BY_SIDE):
            batch = cases[at : at + SIDE_BY_SIDE]
            await asyncio.gather(*(run_session(stage, case, tally) for case in batch))
        await held.end()
        left = await settled(app)
    print(
        f"fuzz frames: {tally.frames} frames, {tally.connections} sockets in "
        f"{time.monotonic() - started:.1f} s; errors {dict(tally.errors_by_code)}; "
        f"closes {dict(tally.closes_by_code)}"
    )
    assert tally.problems == []
    assert caught.summary() == []
    assert left == []
