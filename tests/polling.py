"""Waiting for state that has no event to await (aiortc counters, another process's sockets,
a server's live registries): poll it, with a generous bound for a busy 2-core machine. The
bound is a deadline against hanging, never a measure of speed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

WAIT_S = 20.0  # one step on a busy 2-core machine (Python-driven VP8 in several processes)


async def eventually(check: Callable[[], bool], what: str, wait_s: float = WAIT_S) -> None:
    """Poll until the condition holds; an AssertionError naming ``what`` past the bound."""
    try:
        async with asyncio.timeout(wait_s):
            while not check():  # noqa: ASYNC110 - state without an event to wait on
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(what) from None
