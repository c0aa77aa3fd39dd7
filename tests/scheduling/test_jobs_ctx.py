"""The background scheduler inside a running app: it generates at start-up and stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import delete, func, select

from server.app import create_app
from server.models import Visit
from server.settings import Settings
from tests.databases import transaction


async def test_scheduler_generates_at_startup_and_stops(aiohttp_client, demo: Settings) -> None:  # type: ignore[no-untyped-def]
    """With the jobs on, a fresh process regenerates missing visits; shutdown leaves no task."""
    async with transaction(demo.database_url) as session:
        await session.execute(delete(Visit))
    settings = dataclasses.replace(
        demo,
        scheduler_enabled=True,
        scheduling_generate_interval_s=3600,
        scheduling_tick_interval_s=0.2,
    )
    before = asyncio.all_tasks()
    client = await aiohttp_client(create_app(settings))
    count = 0
    for _ in range(150):
        async with transaction(demo.database_url) as session:
            count = await session.scalar(select(func.count()).select_from(Visit)) or 0
        if count:
            break
        await asyncio.sleep(0.1)
    assert count > 0
    await asyncio.sleep(0.5)  # let a few ladder ticks run against the live app
    await client.close()
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert leftover <= {asyncio.current_task()}
