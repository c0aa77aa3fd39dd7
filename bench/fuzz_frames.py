"""Benchmark: a long run of fuzzed signalling frames against the real server (prints JSON).

    python -m bench.fuzz_frames [--sessions 1450] [--frames 240] [--side-by-side 40] [--url URL]

The generators and the judge of tests/fuzz (frames.py, wire.py) on a larger scale: the demo
municipality and a second organisation, every identity of the authorization matrix signed in,
one call held between a nurse and a tablet, then ``--sessions`` sockets of up to ``--frames``
fuzzed frames each (about 70 on average, as many end early: 100,000 frames take some 1,450
sockets), ``--side-by-side`` at a time, paced under the server's 60 messages a second per
socket so that frames reach the handlers rather than `rate_limited`. The server runs in this
process, so that its registries and its log can be examined afterwards. Use PostgreSQL
(``--url``): on SQLite, 40 sockets saying hello at once meet "database is locked" (503).
Not a test: the figures go in docs/security.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, seed, settings

from bench.scheduling import fresh_database
from server.app import create_app
from server.demo import seed_demo
from server.settings import Settings
from tests.authz.identities import IDENTITIES
from tests.conftest import Client
from tests.fuzz.frames import Session, sessions
from tests.fuzz.profile import PROFILE
from tests.fuzz.wire import Tally, build_stage, catching_tracebacks, run_session, settled

PACE = 50  # frames a second per socket: under the server's 60
CHUNK = 50  # sessions drawn by one process at a time


async def run(url: str, count: int, frames: int, side_by_side: int) -> dict[str, Any]:
    """Seed, fuzz, and report."""
    await fresh_database(url)
    config = Settings(
        database_url=url,
        secret_key="bench-fuzz",
        scheduler_enabled=False,
        ring_timeout_s=2,
        reconnect_grace_s=1,
        ws_auth_deadline_s=1.0,
        ws_heartbeat_s=60.0,
        login_delay_after=1000,
        login_lockout_after=1000,
    )
    await seed_demo(config)
    started = time.monotonic()
    cases = generate(count, frames)
    generate_ms = round((time.monotonic() - started) * 1000)
    app = create_app(config)
    clients: list[Client] = []
    async with TestServer(app, host="127.0.0.1") as server:

        async def new_client() -> Client:
            client = cast(Client, TestClient(server))
            await client.start_server()
            clients.append(client)
            return client

        stage, held = await build_stage(config, new_client)
        tally = Tally()
        started = time.monotonic()
        with catching_tracebacks() as caught:
            queue = iter(cases)
            await asyncio.gather(*(_worker(stage, queue, tally) for _ in range(side_by_side)))
            duration_ms = round((time.monotonic() - started) * 1000)
            await held.end()
            left = await settled(app)
        for client in clients:
            await client.close()
    return {
        "command": "python -m bench.fuzz_frames",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "backend": url.split(":", 1)[0],
        "frames": tally.frames,
        "connections": tally.connections,
        "identities": len(IDENTITIES),
        "errors_by_code": dict(tally.errors_by_code.most_common()),
        "closes_by_code": {str(k): v for k, v in sorted(tally.closes_by_code.items())},
        "upgrades_refused": {str(k): v for k, v in sorted(tally.refused.items())},
        "internal_errors": tally.errors_by_code["internal_error"] + tally.closes_by_code[1011],
        "tracebacks": len(caught.records),
        "leftovers": left,
        "problems": tally.problems[:20],
        "problem_count": len(tally.problems),
        "generate_ms": generate_ms,
        "duration_ms": duration_ms,
        "frames_per_s": round(tally.frames / max(duration_ms / 1000, 0.001)),
    }


def generate(count: int, frames: int) -> list[Session]:
    """``count`` sessions, drawn in chunks on every core (drawing is the slow part): each
    chunk under the tests' profile with a seed of its own instead of the derandomized one."""
    chunks = [
        (index, min(CHUNK, count - start), frames)
        for index, start in enumerate(range(0, count, CHUNK))
    ]
    with ProcessPoolExecutor() as pool:
        return [case for drawn in pool.map(_draw_chunk, chunks) for case in drawn]


def _draw_chunk(chunk: tuple[int, int, int]) -> list[Session]:
    index, count, frames = chunk
    found: list[Session] = []

    @seed(index)
    @settings(PROFILE, derandomize=False, max_examples=count)
    @given(sessions(tuple(who.name for who in IDENTITIES), frames))
    def collect(case: Session) -> None:
        found.append(case)

    collect()
    return found


async def _worker(stage: Any, queue: Any, tally: Tally) -> None:
    for case in queue:  # one shared iterator: each case is taken by exactly one worker
        await run_session(stage, case, tally, pace=PACE)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1450)
    parser.add_argument("--frames", type=int, default=240, help="most frames of one socket")
    parser.add_argument("--side-by-side", type=int, default=40)
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'fuzz.db'}"
    result = asyncio.run(run(url, args.sessions, args.frames, args.side_by_side))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
