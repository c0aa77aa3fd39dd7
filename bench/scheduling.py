"""Benchmark: N citizens × 3 plans → generate 14 days, then a team's day list (prints JSON).

    python -m bench.scheduling [--citizens 10000] [--url sqlite+aiosqlite:////tmp/bench.db]

The database is created and migrated from scratch (SQLite file, or a PostgreSQL URL whose
database is dropped and re-created). Not a test: results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select

from server.db import make_engine, make_sessionmaker
from server.localtime import local_day
from server.migrate import upgrade
from server.models import Channel, Citizen, Organisation, Team, VisitPlan, VisitType
from server.scheduling.generation import generate
from server.settings import Settings
from server.visits.daylist import DayScope, day_list

NOW = dt.datetime(2026, 3, 23, 4, 0, tzinfo=dt.UTC)
ZONE = Settings().zone  # the default organisation zone
PLANS = (("medication", dt.time(8, 0)), ("reassurance", dt.time(12, 0)), ("meal", dt.time(17, 0)))


async def fresh_database(url: str) -> None:
    """An empty migrated database at `url`."""
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)  # noqa: ASYNC240 (set-up)
    else:
        admin, name = url.replace("+asyncpg", "").rsplit("/", 1)
        conn = await asyncpg.connect(f"{admin}/postgres")
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()
    await upgrade(url)


async def seed(url: str, citizens: int, teams: int) -> None:
    """Citizens spread over teams, each with three daily plans."""
    engine = make_engine(url)
    async with make_sessionmaker(engine).begin() as session:
        org = Organisation(slug="bench", name="Bench")
        session.add(org)
        await session.flush()
        team_rows = [Team(organisation_id=org.id, name=f"Team {i}") for i in range(teams)]
        types = [VisitType(organisation_id=org.id, code=c, name_da=c, name_en=c) for c, _ in PLANS]
        session.add_all([*team_rows, *types])
        await session.flush()
        await session.execute(
            insert(Citizen),
            [
                {"organisation_id": org.id, "team_id": team_rows[i % teams].id, "name": f"C {i}"}
                for i in range(citizens)
            ],
        )
        ids = list(await session.execute(select(Citizen.id, Citizen.team_id)))
        await session.execute(
            insert(VisitPlan),
            [
                {
                    "citizen_id": cid,
                    "visit_type_id": vtype.id,
                    "team_id": tid,
                    "rrule": "FREQ=DAILY",
                    "local_time": at,
                    "channel_by_weekday": {},
                    "default_channel": Channel.SCREEN,
                    "valid_from": dt.date(2026, 1, 1),
                    "rules": {},
                }
                for cid, tid in ids
                for vtype, (_, at) in zip(types, PLANS, strict=True)
            ],
        )
    await engine.dispose()


async def run(url: str, citizens: int, teams: int, lists: int) -> dict[str, object]:
    """Seed, generate and time the day list."""
    await fresh_database(url)
    await seed(url, citizens, teams)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    started, cpu_before = time.perf_counter(), _cpu_s()
    async with maker.begin() as session:
        result = await generate(session, NOW, zone=ZONE, horizon_days=13)
    generation_s = time.perf_counter() - started
    generation_cpu_s = _cpu_s() - cpu_before  # this process only: wall minus this ≈ waiting
    timings = []
    async with maker() as session:
        team_id = await session.scalar(select(Team.id).order_by(Team.id))
        # The team list as /api/daylist reads it: plain columns, no per-row details.
        scope = DayScope(team_ids=[team_id or 0], details=False)
        for _ in range(lists):
            begin = time.perf_counter()
            rows = await day_list(session, scope, local_day(NOW, ZONE), tz=ZONE, now=NOW)
            timings.append((time.perf_counter() - begin) * 1000)
        details = []  # the call list reads the same rows with readiness and outcomes
        detailed = DayScope(team_ids=[team_id or 0])
        for _ in range(lists):
            begin = time.perf_counter()
            await day_list(session, detailed, local_day(NOW, ZONE), tz=ZONE, now=NOW)
            details.append((time.perf_counter() - begin) * 1000)
    await engine.dispose()
    return {
        "backend": url.split(":", 1)[0],
        "citizens": citizens,
        "plans": citizens * len(PLANS),
        "visits": result.created,
        "generation_s": round(generation_s, 2),
        "generation_cpu_s": round(generation_cpu_s, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "day_list_rows": len(rows),
        "day_list_p50_ms": round(statistics.median(timings), 2),
        "day_list_p95_ms": round(statistics.quantiles(timings, n=20)[-1], 2),
        "day_list_details_p50_ms": round(statistics.median(details), 2),
        "day_list_details_p95_ms": round(statistics.quantiles(details, n=20)[-1], 2),
        "machine": f"{platform.machine()} {platform.python_version()}",
    }


def _cpu_s() -> float:
    """User plus system CPU time of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite+aiosqlite:////tmp/screenvisit-bench.db")
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--lists", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.citizens, args.teams, args.lists))))


if __name__ == "__main__":
    main()
