"""Benchmark: /healthz while a 5,000-row import runs on the real server (prints JSON).

    python -m bench.import_healthz [--citizens 1000] [--url postgresql+asyncpg://…/bench_import]

Starts `python -m server serve` as a subprocess on a fresh demo database (SQLite by default),
logs in as the planner, uploads a CSV of N citizens × 5 plans to `/api/import-jobs`, and polls
`/healthz` about 20 times a second from the upload until the job is done. The goal is a
`/healthz` p99 under 50 ms. Not a test: results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.scheduling import fresh_database

CSV_HEADER = (
    "citizen_ref,name,preferred_name,team,contact_persons,consents,consent_given_by,"
    "plan_ref,visit_type,rrule,time,window_min,duration_min,channels,valid_from,valid_to\n"
)
# Five plans a citizen, the non-swappable ones far apart (their windows never overlap).
PLANS = (
    ("medication", "FREQ=DAILY", "08:00"),
    ("wake_up", "FREQ=DAILY", "07:00"),
    ("meal_drink", "FREQ=DAILY", "12:00"),
    ("reassurance", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "15:00"),
    ("blood_sugar", "FREQ=DAILY", "18:00"),
)
POLL_S = 0.05  # about 20 requests a second


def export_csv(
    citizens: int, *, start: int = 0, bad_line: int | None = None, rrule_at_bad: str = ""
) -> str:
    """A care-record export of `citizens` × 5 plans for the demo organisation.

    With `bad_line` (a line number of the file, the header being line 1), that line's rule is
    `rrule_at_bad` instead.
    """
    rows = [CSV_HEADER]
    for n in range(start, start + citizens):
        team = "Team Nord" if n % 2 == 0 else "Team Syd"
        for p, (vtype, rrule, at) in enumerate(PLANS):
            if bad_line is not None and len(rows) + 1 == bad_line:
                rrule = rrule_at_bad
            rows.append(
                f'C{n},Borger {n},,{team},,,,C{n}-P{p},{vtype},"{rrule}",{at},15,5,,2026-01-01,\n'
            )
    return "".join(rows)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    """`python -m server serve` on `port` with its own demo data (the scheduler off)."""
    env = {
        **os.environ,
        "SCREENVISIT_DATABASE_URL": url,
        "SCREENVISIT_SECRET_KEY": "bench-secret",
        "SCREENVISIT_SCHEDULER_ENABLED": "false",
    }
    subprocess.run(
        [sys.executable, "-m", "server", "seed-demo"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    command = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def wait_until_up(http: aiohttp.ClientSession, base: str) -> None:
    """Poll /healthz until the server answers."""
    for _ in range(400):
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def log_in(http: aiohttp.ClientSession, base: str, username: str) -> str:
    """Log in through the form; the CSRF token for API calls."""
    async with http.get(f"{base}/login") as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"username": username, "password": "demo1234", "csrf_token": token.group(1)}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
        assert response.status == 303, response.status
    async with http.get(f"{base}/") as page:
        meta = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert meta is not None
    return meta.group(1)


async def poll_healthz(base: str, stop: asyncio.Event, times: list[float]) -> None:
    """GET /healthz every POLL_S on its own connection, recording each round trip."""
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(f"{base}/healthz") as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(POLL_S)


async def run_import(base: str, body: bytes) -> tuple[float, dict[str, object]]:
    """Upload, then follow the job until it is finished; its duration (ms) and last state."""
    # unsafe=True: the default jar refuses cookies from an IP address such as 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await log_in(http, base, "pia")
        headers = {"X-CSRF-Token": token, "Content-Type": "text/csv"}
        started = time.perf_counter()
        url = f"{base}/api/import-jobs?format=csv&filename=bench.csv"
        async with http.post(url, data=body, headers=headers) as response:
            job = await response.json()
            assert response.status == 202, job
        while job["state"] in {"queued", "validating", "writing"}:
            await asyncio.sleep(0.2)
            async with http.get(f"{base}/api/import-jobs/{job['id']}") as response:
                job = await response.json()
        return (time.perf_counter() - started) * 1000, job


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench(url: str, citizens: int) -> dict[str, object]:
    """One run: a fresh database and server, one import, /healthz polled throughout."""
    await fresh_database(url)
    port = free_port()
    server = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_up(http, base)
        body = export_csv(citizens).encode()
        stop = asyncio.Event()
        times: list[float] = []
        poller = asyncio.create_task(poll_healthz(base, stop, times))
        total_ms, job = await run_import(base, body)
        stop.set()
        await poller
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "database": url.split(":", 1)[0],
        "rows": citizens * len(PLANS),
        "state": job["state"],
        "visits_generated": job["visits_generated"],
        "import_total_ms": round(total_ms),
        "healthz_requests": len(times),
        "healthz_p50_ms": round(statistics.median(times), 1),
        "healthz_p99_ms": round(percentile(times, 0.99), 1),
        "healthz_max_ms": round(max(times), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    """Parse the arguments, run once, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=1000)
    default = f"sqlite+aiosqlite:///{Path(tempfile.gettempdir()) / 'bench_import.db'}"
    parser.add_argument("--url", default=default)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.url, args.citizens))))


if __name__ == "__main__":
    main()
