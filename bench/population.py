"""Tens of thousands of enrolled tablets for the load benchmarks, in a PostgreSQL database of
their own: created for the run, migrated and demo-seeded by the real commands (`python -m server
migrate`, `seed-demo`), then bulk-filled with one citizen per tablet and dropped afterwards.

Every bulk citizen belongs to the demo's Team Nord and consents to screen visits, and so do a
hundred bulk nurses (`logins`), who may therefore ring them all (a person is in one call at a
time, so a hundred calls at once need a hundred nurses); its tablet's token is known to the bench
(`kiosk_token`) and stored hashed exactly as enrolment stores it (`server.security.token_hash`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import make_engine, make_sessionmaker
from server.models import (
    Citizen,
    Consent,
    KioskDevice,
    Organisation,
    Staff,
    Team,
    TeamMembership,
)
from server.models.base import utcnow
from server.security import hash_password, token_hash
from server.vocabulary import ConsentKind, Role

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-population-secret"  # fixed, so the demo's own tokens are known too
TEAM = "Team Nord"
STAFF_PASSWORD = "bench-nurse-password"
STAFF_COUNT = 100  # a person is in one call at a time: 100 calls at once need 100 nurses
BATCH = 5_000
# The bench's nurses get ids far above any tablet's: the live-call registry once told a person
# from a device by id alone (fixed in 8b29c96), and equal ids made a nurse "already in a call".
STAFF_ID_BASE = 1_000_000


def staff_username(index: int) -> str:
    """The login of bulk nurse ``index`` (of Team Nord, like every bulk citizen)."""
    return f"bench-nurse-{index:03d}"


def kiosk_token(index: int) -> str:
    """The device token of bulk tablet ``index`` (16–512 characters, as the protocol wants)."""
    return f"bench-kiosk-{index:07d}-token"


@dataclasses.dataclass(frozen=True, slots=True)
class Population:
    """A database holding ``len(citizen_ids)`` enrolled tablets, one per citizen."""

    database_url: str
    citizen_ids: tuple[int, ...]
    staff: int = STAFF_COUNT

    def tablets(self) -> list[tuple[str, str]]:
        """(citizen id, device token) of every bulk tablet, in enrolment order."""
        return [(str(c), kiosk_token(i)) for i, c in enumerate(self.citizen_ids)]

    def logins(self) -> list[tuple[str, str]]:
        """(username, password) of every bulk nurse."""
        return [(staff_username(i), STAFF_PASSWORD) for i in range(self.staff)]


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment for `python -m server …` on this database: fixed secret, scheduler off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    wanted = {
        "database_url": database_url,
        "secret_key": SECRET,
        "scheduler_enabled": "false",  # no background work in the measurement
        "log_json": "false",
        **settings,
    }
    env.update({f"SCREENVISIT_{k.upper()}": v for k, v in wanted.items()})
    return env


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _server_command(command: str, database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "server", command],
        env=server_env(database_url),
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    )


async def _bulk_insert(database_url: str, count: int) -> tuple[int, ...]:
    """``count`` citizens of Team Nord, each consenting and holding one enrolled tablet."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            org_id, team_id = (
                await session.execute(
                    select(Organisation.id, Team.id)
                    .join(Team, Team.organisation_id == Organisation.id)
                    .where(Organisation.slug == "demo", Team.name == TEAM)
                )
            ).one()
            await _insert_staff(session, org_id, team_id)
            ids: list[int] = []
            for start in range(0, count, BATCH):
                ids += await _insert_batch(
                    session, org_id, team_id, range(start, min(count, start + BATCH))
                )
        return tuple(ids)
    finally:
        await engine.dispose()


async def _insert_staff(session: AsyncSession, org_id: int, team_id: int) -> None:
    """The bulk nurses, sharing one password hash (Argon2 takes ~0.2 s per hash)."""
    password_hash = hash_password(STAFF_PASSWORD)
    result = await session.execute(
        insert(Staff).returning(Staff.id, sort_by_parameter_order=True),
        [
            {
                "id": STAFF_ID_BASE + i,
                "organisation_id": org_id,
                "username": staff_username(i),
                "display_name": f"Bench Sygeplejerske {i}",
                "role": Role.NURSE,
                "password_hash": password_hash,
            }
            for i in range(STAFF_COUNT)
        ],
    )
    await session.execute(
        insert(TeamMembership), [{"staff_id": row[0], "team_id": team_id} for row in result]
    )


async def _insert_batch(
    session: AsyncSession, org_id: int, team_id: int, indexes: range
) -> list[int]:
    now = utcnow()
    rows = [
        {
            "organisation_id": org_id,
            "team_id": team_id,
            "name": f"Bench Borger {i}",
            "language": "da",
        }
        for i in indexes
    ]
    result = await session.execute(
        insert(Citizen).returning(Citizen.id, sort_by_parameter_order=True), rows
    )
    ids = [row[0] for row in result]
    await session.execute(
        insert(Consent),
        [
            {
                "citizen_id": c,
                "kind": ConsentKind.SCREEN_VISITS,
                "scope": {},
                "granted_by": "citizen",
            }
            for c in ids
        ],
    )
    await session.execute(
        insert(KioskDevice),
        [
            {
                "organisation_id": org_id,
                "citizen_id": c,
                "label": f"Bench tablet {i}",
                "token_hash": token_hash(kiosk_token(i)),
                "enrolled_at": now,
            }
            for i, c in zip(indexes, ids, strict=True)
        ],
    )
    return ids


async def create(count: int, name: str | None = None) -> Population:
    """A fresh database named ``name`` (default: per process) with ``count`` bulk tablets."""
    name = name or f"sv_bench_pop_{os.getpid()}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await _admin(f"CREATE DATABASE {name}")
    for command in ("migrate", "seed-demo"):
        await asyncio.to_thread(_server_command, command, url)
    return Population(url, await _bulk_insert(url, count))


async def drop(population: Population) -> None:
    """Remove the population's database (connections still open are ended)."""
    name = population.database_url.rsplit("/", 1)[1]
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@asynccontextmanager
async def population(count: int) -> AsyncIterator[Population]:
    """A population for the length of a benchmark; dropped afterwards, whatever happens."""
    made = await create(count)
    try:
        yield made
    finally:
        await drop(made)
