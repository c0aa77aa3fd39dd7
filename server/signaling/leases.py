"""Call leases: each process vouches for its live calls; the calls of a process that is gone end.

Every call row names its owner (``Hub.owner``: host, pid and a token, unique per process start)
and a lease. Every process renews the leases of the calls its book holds every third of
``call_lease_s`` and, in the same transaction, ends the open calls whose lease ran out: their
process died (SIGKILL, power, out of memory) or lost the database. They end with the reason
``server_lost`` and their visits follow at once, back to the missed-visit ladder, instead of
waiting as "ringing" for hours.

At start-up a process also ends, without waiting for their leases, the calls of a process on the
same host that no longer runs (its pid is gone, or it is this very pid: a container restarted),
so a server restarted after a crash retries or escalates its visits within seconds.

A graceful stop (SIGTERM) ends its own calls cleanly first (``end_own_calls``, an
``on_shutdown`` handler that runs before the sockets close): the participants hear
`call-ended` and the rows say ``server_lost``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection

from aiohttp import web

from ..db import DATABASE_BUSY
from ..models import utcnow
from ..process_owner import gone_owners
from ..rooms import store
from ..visits.updates import VisitUpdate
from ..vocabulary import EndReason
from .calls import finish, record_end, record_unwritten_ends, wire_reason
from .hub import Hub, hub_key
from .messages import CallEnded

logger = logging.getLogger(__name__)


async def reap(hub: Hub, gone: Collection[str] = ()) -> int:
    """Renew this process's leases and end every lost call; how many were ended."""
    await record_unwritten_ends(hub)  # first: those rows must not be taken for lost calls
    now = utcnow()
    live = [call.call_id for call in await hub.book.live_calls()]
    updates: list[VisitUpdate] = []
    async with hub.transaction() as session:
        await store.renew_leases(session, hub.owner, live, hub.lease_until(now))
        lost = await store.lost_calls(session, now, gone=gone)
        for call in lost:
            reason = EndReason.SERVER_LOST
            update = await record_end(
                session, call.public_id, call.citizen_id, call.visit_id, reason, now
            )
            if update is not None:
                updates.append(update)
    for update in updates:
        await hub.visit_changed(update)
    for call in lost:
        await _tell_ended(hub, call.public_id)
    if lost:
        logger.warning("ended %d call(s) of a server that is gone", len(lost))
    return len(lost)


async def _tell_ended(hub: Hub, call_id: str) -> None:
    """A shared book (several nodes) may still hold a lost call: end it there and tell the
    participants, whose sockets may be on live nodes. (A process's own book never holds
    another process's call: then there is nothing to do.)"""
    over = await hub.book.abort(call_id)
    if over is None:
        return
    ended = over.ended
    message = CallEnded(call_id=call_id, reason=wire_reason(ended.reason), by=None)
    await hub.to_call(ended.call, message)
    await hub.publish_presence([ended.call.citizen_id])


async def _renew_forever(hub: Hub, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await reap(hub)
        except DATABASE_BUSY as exc:  # away for a while (/readyz says so): the next round tries
            logger.warning("could not renew call leases: %r", exc)
        except Exception:
            logger.exception("could not renew call leases")


async def leases_ctx(app: web.Application) -> AsyncIterator[None]:
    """End the calls a previous run left open, then keep this process's leases (after the hub)."""
    hub = app[hub_key]
    try:
        async with hub.transaction() as session:
            owners = await store.open_call_owners(session)
        await reap(hub, gone_owners(owners, hub.owner))
    except Exception:  # a server that cannot reach its database still starts; the loop retries
        logger.exception("could not end the calls of a previous run")
    task = asyncio.create_task(_renew_forever(hub, max(hub.settings.call_lease_s / 3, 0.5)))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def end_own_calls(app: web.Application) -> None:
    """A graceful stop: end every call of this process before the sockets close."""
    hub = app[hub_key]
    try:
        live = await hub.book.live_calls()
    except Exception:  # the shared book (Redis) is away: the calls' leases end them instead
        logger.exception("could not end this process's calls on the way out")
        return
    for call in live:
        over = await hub.book.abort(call.call_id)
        if over is not None:
            await finish(hub, over)
