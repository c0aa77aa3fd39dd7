"""The demo's past weeks: laid out once, and key figures that read like a real team's."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from server.demo import DEMO_SLUG
from server.demo_history import WEEKS, add_history, how_it_went, lay_out_demo_history
from server.models import Call, Outcome, OutcomeKind, Visit, utcnow
from server.settings import Settings
from tests.conftest import Client, login
from tests.databases import transaction


@pytest.fixture
def db_url(both_backends: str) -> str:
    return both_backends


def test_the_mix_of_days_is_mostly_answered_on_time() -> None:
    kinds = Counter(how_it_went(random.Random(n)).outcome for n in range(2000))
    assert 0.85 < kinds[OutcomeKind.COMPLETED] / 2000 < 0.95
    assert 0 < kinds[None] < kinds[OutcomeKind.DECLINED] * 3  # a few missed, some declined


async def test_history_is_laid_out_once_and_fills_the_key_figures(
    client: Client, demo: Settings
) -> None:
    added = await lay_out_demo_history(demo.database_url, DEMO_SLUG, demo.zone)
    assert added > 0 and added % (WEEKS * 7) == 0  # every consenting citizen, every day
    async with transaction(demo.database_url) as session:
        assert await add_history(session, DEMO_SLUG, utcnow(), demo.zone) == 0
        history = Visit.occurrence_key.like("demo-history:%")
        visits = (await session.execute(select(func.count()).where(history))).scalar_one()
        calls = (await session.execute(select(func.count()).select_from(Call))).scalar_one()
        outcomes = (await session.execute(select(func.count()).select_from(Outcome))).scalar_one()
    assert visits == added and calls > added and 0 < outcomes < added
    assert await login(client, "pia") == 303
    figures = await (await client.get(f"/api/figures?weeks={WEEKS}")).json()
    past = figures["teams"][0]["weeks"][0]  # the oldest week: history only
    assert past["calls"] > 0 and 0.8 < past["on_time_rate"] <= 1 and past["median_call_s"] > 0
