"""Tablets' last-seen times, written in batches: one statement per round, never one
transaction per socket event.

A connect or disconnect only notes the time in memory; a timer writes everything noted every
``interval_s`` seconds in one executemany ``UPDATE``. A failed round (a full pool, a database
restart) keeps its values and tries again next round, so a mass disconnect costs a handful of
statements instead of thousands of queued transactions. Until a value is written, presence
reads it from here (``pending``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..models import KioskDevice

logger = logging.getLogger(__name__)

_TABLE = cast(Table, KioskDevice.__table__)
# Core, not ORM: an ORM update with a parameter list would be a bulk update by primary key.
_WRITE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("kiosk_id"))
    .values(last_seen_at=bindparam("seen"))
)


class Seen(NamedTuple):
    """One tablet's noted time, with its citizen (presence is asked by citizen)."""

    citizen_id: int | None
    at: dt.datetime


class LastSeen:
    """Collects tablets' last-seen times and writes them every ``interval_s`` seconds."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], interval_s: float = 1.0
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval_s = interval_s
        self._pending: dict[int, Seen] = {}
        self._writing: dict[int, Seen] = {}  # the round in flight: still unwritten
        # The same times by citizen (newest), so presence does not scan every pending tablet.
        self._pending_citizens: dict[int, dt.datetime] = {}
        self._writing_citizens: dict[int, dt.datetime] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._round: asyncio.Task[None] | None = None
        self.failed_rounds = 0

    def note(self, kiosk_id: int, citizen_id: int | None, at: dt.datetime) -> None:
        """The tablet had a socket at ``at``; written within ``interval_s``."""
        self._pending[kiosk_id] = Seen(citizen_id, at)
        if citizen_id is not None:
            _keep_newest(self._pending_citizens, citizen_id, at)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._interval_s, self._start_round)

    def pending(self, citizen_ids: Iterable[int]) -> dict[int, dt.datetime]:
        """The newest unwritten time per citizen (newer than anything in the database)."""
        latest: dict[int, dt.datetime] = {}
        for citizen_id in citizen_ids:
            for source in (self._writing_citizens, self._pending_citizens):
                at = source.get(citizen_id)
                if at is not None:
                    _keep_newest(latest, citizen_id, at)
        return latest

    def _start_round(self) -> None:
        self._timer = None
        if self._round is None or self._round.done():
            self._round = asyncio.get_running_loop().create_task(self.flush())
        else:  # the previous round is still writing: try again a little later
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._start_round)

    async def flush(self) -> None:
        """Write everything noted so far in one statement; on failure keep it for next time."""
        if not self._pending:
            return
        self._writing, self._pending = self._pending, {}
        self._writing_citizens, self._pending_citizens = self._pending_citizens, {}
        rows = [{"kiosk_id": k, "seen": s.at} for k, s in self._writing.items()]
        try:
            async with self._sessionmaker.begin() as session:
                await session.execute(_WRITE, rows)
        except Exception as exc:  # a full pool or a database restart: next round tries again
            self.failed_rounds += 1
            logger.warning("could not record last-seen of %d tablets yet: %r", len(rows), exc)
            for kiosk_id, seen in self._writing.items():
                if kiosk_id not in self._pending:  # a newer note wins
                    self.note(kiosk_id, seen.citizen_id, seen.at)
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self._interval_s, self._start_round)
        finally:
            self._writing, self._writing_citizens = {}, {}

    async def close(self) -> None:
        """Write what is left (shutdown): the last disconnects are not lost."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._round is not None:
            await asyncio.gather(self._round, return_exceptions=True)
        await self.flush()
        if self._timer is not None:  # the final write failed: nothing will retry it
            self._timer.cancel()
            self._timer = None


def _keep_newest(latest: dict[int, dt.datetime], key: int, at: dt.datetime) -> None:
    current = latest.get(key)
    if current is None or at > current:
        latest[key] = at
