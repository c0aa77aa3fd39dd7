"""The garbage collector beside tens of thousands of long-lived sockets.

A full collection walks every tracked object: over 19,000 idle sockets' objects it paused the
event loop for 1.4-1.8 s every ~20 s. Objects that have lived a while are therefore moved out of
its sight (``gc.freeze``): the start-up heap (modules, schemas, mappers: ~200,000 objects,
whose walks paused the loop 100-150 ms during an import job) at once, and every
second whatever survived since, after a young collection has taken the short-lived cycles. A
full collection then walks only what arrived since the last freeze, so it stays short.

Frozen objects are still freed by reference counting when their socket closes; only reference
cycles among them would wait for ever. The signalling handler breaks the two cycles aiohttp and
asyncio leave behind a closed socket (``handler._release``), so less than one small object
per closed socket is left to wait (0.7 measured). After a mass disconnect (nine in ten of at
least a thousand sockets gone) everything is thawed and collected once, which is then short:
few live objects are left to walk.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from .keys import websockets_key

logger = logging.getLogger(__name__)
FREEZE_EVERY_S = 1.0  # shorter rounds keep full collections short during a connect burst
THAW_WHEN_LEFT = 0.1  # of the highest socket count since the last thaw
THAW_MIN_PEAK = 1000  # fewer sockets leave too little behind to be worth a full collection


class HeapKeeper:
    """Freezes what has lived a while, every ``every_s`` seconds; thaws once ``sockets()`` has
    fallen below a tenth of its highest count since the last thaw (a mass disconnect)."""

    def __init__(self, sockets: Callable[[], int], every_s: float = FREEZE_EVERY_S) -> None:
        self._sockets = sockets
        self._every_s = every_s
        self._peak = 0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Freeze the start-up heap and tick from now on."""
        gc.freeze()
        self._handle = asyncio.get_running_loop().call_later(self._every_s, self.tick)

    def tick(self) -> None:
        """One round: thaw after a mass disconnect, else freeze what survived."""
        count = self._sockets()
        if self._peak >= THAW_MIN_PEAK and count < self._peak * THAW_WHEN_LEFT:
            # Most sockets are gone: let one full collection find their leftover cycles.
            gc.unfreeze()
            found = gc.collect()
            logger.info(
                "heap thawed after %d of %d sockets closed: %d unreachable objects",
                self._peak - count,
                self._peak,
                found,
            )
            self._peak = count
        else:
            self._peak = max(self._peak, count)
            gc.collect(1)  # the young cycles die now instead of being frozen
            gc.freeze()
        self._handle = asyncio.get_running_loop().call_later(self._every_s, self.tick)

    def stop(self) -> None:
        """Stop ticking and give the collector everything back."""
        if self._handle is not None:
            self._handle.cancel()
        gc.unfreeze()


async def heap_ctx(app: web.Application) -> AsyncIterator[None]:
    """Keep long-lived objects out of full collections for the app's lifetime."""
    sockets = app[websockets_key]
    keeper = HeapKeeper(lambda: len(sockets))
    keeper.start()
    yield
    keeper.stop()
