"""Console fixtures: the demo organisation with today's visits, and a logged-in client maker."""

from __future__ import annotations

import pytest

from server.settings import Settings
from tests.conftest import Client, csrf_from
from tests.console.seed import seed_today


@pytest.fixture
async def visits(demo: Settings) -> dict[str, int]:
    """Today's first visit per demo citizen, by preferred name (Karen is Team Nord, Poul Syd)."""
    return await seed_today(demo)


async def csrf(client: Client) -> dict[str, str]:
    """The header a logged-in client sends with JSON POSTs."""
    page = await client.get("/")
    return {"X-CSRF-Token": csrf_from(await page.text())}
