"""The server's CPU per short call: `python -m bench.ring_cpu --calls 300` prints JSON.

Wall-clock figures on a shared machine follow the neighbours; CPU time does not. The real
server (`python -m server serve`, scheduler off, on a temporary SQLite database or a PostgreSQL
database made for the run, both seeded with `seed-demo`) serves Anna (one socket ringing, one
following the presence of her team's tablets, as her console does) and the ten Team Nord
tablets. Per call, one at a time: Anna rings, the tablet accepts, Anna hangs up, the tablet hears
`call-ended`. With `--relay N` a last call is held and N offers and N answers of about 3 KB
are relayed one at a time, under the per-socket rate limit: `server_cpu_us_per_relay`, less
the server's idle CPU over as long. `server_cpu_ms_per_call` is the server's user + system
CPU over the measured calls (from /proc) per call; `ring_cpu_p95_ms` etc. the server's CPU
while it handled each message (its timing hook, which `--relay` turns off: it parses and logs
every frame). With `--profile FILE` the server runs under cProfile (on its CPU clock) and
writes its statistics to FILE on the way out (the figures then include the profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from .harness import percentile, sample

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET = "bench-ring-cpu-secret"
TEAM_NORD = tuple(range(0, 20, 2))  # demo citizen indexes of Team Nord (citizen id = index + 1)
PROFILED = """
import cProfile, runpy, sys, time
out = sys.argv[1]
sys.argv = ["server", *sys.argv[2:]]
profiler = cProfile.Profile(time.process_time)
try:
    profiler.runcall(runpy.run_module, "server", run_name="__main__")
except SystemExit:
    pass
finally:
    profiler.dump_stats(out)
"""
# The nurse sends two messages a call: a pause keeps her under the limit of 60 a second (a
# dropped ring would stall the run).
CALL_GAP_S = 0.04
ROUND_S = 1 / 50  # each socket sends one message a round: under the limit of 60 a second
TIMING = re.compile(r"signaling-timing (\{.*\})")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A SQLite database file in ``workdir`` (removed with it)."""
    yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"


@contextlib.contextmanager
def pg_database(admin: str) -> Iterator[str]:
    """A PostgreSQL database made for the run (dropped afterwards) via ``psql`` on ``admin``."""
    name = f"sv_bench_ringcpu_{os.getpid()}"
    run = ["psql", admin, "-q", "-c"]
    subprocess.run([*run, f"DROP DATABASE IF EXISTS {name}"], check=True, capture_output=True)
    subprocess.run([*run, f"CREATE DATABASE {name}"], check=True, capture_output=True)
    try:
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        subprocess.run(
            [*run, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False, capture_output=True
        )


def server_env(database_url: str, port: int, *, timing: bool) -> dict[str, str]:
    """The server's environment: the run's database, a fixed secret (demo tokens), no scheduler."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    env.update(
        {
            "SCREENVISIT_DATABASE_URL": database_url,
            "SCREENVISIT_SECRET_KEY": SECRET,
            "SCREENVISIT_HOST": "127.0.0.1",
            "SCREENVISIT_PORT": str(port),
            "SCREENVISIT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SCREENVISIT_LOG_LEVEL": "INFO",
            "SCREENVISIT_LOG_JSON": "false",
            "SCREENVISIT_SIGNALING_TIMING": "true" if timing else "false",
            "SCREENVISIT_SCHEDULER_ENABLED": "false",
        }
    )
    return env


def wait_http(url: str, deadline_s: float = 180.0) -> None:
    """Poll until ``url`` answers."""
    until = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > until:
                raise RuntimeError("the server did not start; see its log") from None
        time.sleep(0.2)


async def hello(session: aiohttp.ClientSession, base: str, **fields: Any) -> Any:
    """An open signalling socket, welcomed."""
    ws = await session.ws_connect(f"{base}/ws")
    await ws.send_json({"type": "hello", "id": 1, "version": ["1"], **fields})
    welcome = await ws.receive_json(timeout=10)
    assert welcome["type"] == "welcome", welcome
    return ws


async def expect(ws: Any, kind: str) -> dict[str, Any]:
    """Skip other messages (presence, list updates) until one of ``kind``."""
    while True:
        data: dict[str, Any] = await ws.receive_json(timeout=10)
        if data["type"] == kind:
            return data
        if data["type"] == "error":
            raise RuntimeError(data)


async def drain(ws: Any) -> None:
    """Read and drop whatever arrives (the presence follower)."""
    while not ws.closed:
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return


async def one_call(nurse: Any, tablet: Any, citizen_id: str) -> None:
    """Ring, accept, hang up; both ends hear the end."""
    await nurse.send_json({"type": "ring", "id": 2, "citizen_id": citizen_id})
    ring = await expect(tablet, "ring")
    await tablet.send_json({"type": "accept", "call_id": ring["call_id"]})
    await expect(nurse, "call-state")  # the ringing snapshot, answered by the ring
    while (await expect(nurse, "call-state"))["state"] != "active":
        pass
    await nurse.send_json({"type": "hangup", "call_id": ring["call_id"]})
    await expect(tablet, "call-ended")  # the one who hangs up hears no call-ended
    await asyncio.sleep(CALL_GAP_S)


async def relay_cpu(nurse: Any, citizen_id: str, tablet: Any, pid: int, count: int) -> Any:
    """One held call; ``count`` offer-sized messages each way, one at a time; the server's CPU
    per relayed message."""
    await nurse.send_json({"type": "ring", "id": 2, "citizen_id": citizen_id})
    ring = await expect(tablet, "ring")
    call_id = ring["call_id"]
    await tablet.send_json({"type": "accept", "call_id": call_id})
    state = await expect(nurse, "call-state")
    while state["state"] != "active":
        state = await expect(nurse, "call-state")
    kiosk_id = next(p["peer_id"] for p in state["peers"] if p["kind"] == "kiosk")
    nurse_id = state["you"]
    sdp = "v=0\r\n" + "a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host\r\n" * 50
    offer = json.dumps({"type": "offer", "call_id": call_id, "to": kiosk_id, "sdp": sdp})
    answer = json.dumps({"type": "answer", "call_id": call_id, "to": nurse_id, "sdp": sdp})
    idle = sample([pid])
    await asyncio.sleep(count * ROUND_S)
    before = sample([pid])
    for _ in range(count):
        started = time.monotonic()
        await nurse.send_str(offer)
        await expect(tablet, "offer")
        await tablet.send_str(answer)
        await expect(nurse, "answer")
        await asyncio.sleep(max(0.0, ROUND_S - (time.monotonic() - started)))
    after = sample([pid])
    idle_cpu_s = (before.cpu_s - idle.cpu_s) / (before.at - idle.at) * (after.at - before.at)
    await nurse.send_json({"type": "hangup", "call_id": call_id})
    await expect(tablet, "call-ended")
    cpu_us = 1e6 * (after.cpu_s - before.cpu_s - idle_cpu_s) / (2 * count)
    return {"relayed": 2 * count, "server_cpu_us_per_relay": round(cpu_us, 1)}


async def calls(base: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the measured calls; the server's CPU per call."""
    from server.demo import demo_kiosk_token
    from server.settings import Settings

    settings = Settings(secret_key=SECRET)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as staff, aiohttp.ClientSession() as kiosks:
        page = await staff.get(f"{base}/login")
        token = CSRF.search(await page.text())
        assert token is not None
        form = {"username": "anna", "password": "demo1234", "csrf_token": token.group(1)}
        await staff.post(f"{base}/login", data=form, allow_redirects=False)
        tablets = [
            (str(i + 1), await hello(kiosks, base, token=demo_kiosk_token(settings, i)))
            for i in TEAM_NORD
        ]
        nurse = await hello(staff, base)
        follower = await hello(staff, base)
        ids = [c for c, _ in tablets]
        await follower.send_json({"type": "presence-subscribe", "citizen_ids": ids})
        await expect(follower, "presence")
        reader = asyncio.create_task(drain(follower))
        for n in range(args.warmup):
            citizen_id, tablet = tablets[n % len(tablets)]
            await one_call(nurse, tablet, citizen_id)
        await asyncio.sleep(1.5)  # the warm-up's background writes are done
        before = sample([pid])
        walls = []
        for n in range(args.calls):
            citizen_id, tablet = tablets[n % len(tablets)]
            started = time.perf_counter()
            await one_call(nurse, tablet, citizen_id)
            walls.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(1.5)  # the calls' own background writes (answered, last-seen)
        after = sample([pid])
        relay = await relay_cpu(nurse, *tablets[0], pid, args.relay) if args.relay else {}
        reader.cancel()
        for _, tablet in tablets:
            await tablet.close()
        await nurse.close()
        await follower.close()
    return {
        "calls": args.calls,
        "server_cpu_ms_per_call": round(1000 * (after.cpu_s - before.cpu_s) / args.calls, 3),
        "call_wall_p50_ms": percentile(walls, 50),
        "call_wall_p95_ms": percentile(walls, 95),
        **relay,
    }


def message_cpu(log: Path, measured: int) -> dict[str, Any]:
    """Per message type, the server's CPU while handling it (the timing hook's ``cpu_us``),
    over the last ``measured`` messages of each type (the warm-up's come first)."""
    per_type: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = TIMING.search(line)
        if match:
            record = json.loads(match.group(1))
            per_type.setdefault(str(record["type"]), []).append(record["cpu_us"] / 1000)
    figures: dict[str, Any] = {}
    for kind in ("ring", "accept", "hangup"):
        values = per_type.get(kind, [])[-measured:]
        for p in (50, 95):
            figures[f"{kind}_cpu_p{p}_ms"] = percentile(values, p)
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Database, server, calls; the figures."""
    with tempfile.TemporaryDirectory(prefix="sv-ring-cpu-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        db = pg_database(args.pg_admin) if args.pg_admin else sqlite_database(workdir)
        with db as url:
            env = server_env(url, port, timing=not args.relay)
            for command in ("migrate", "seed-demo"):
                subprocess.run(
                    [sys.executable, "-m", "server", command],
                    env=env, cwd=PROJECT_DIR, check=True, capture_output=True,
                )  # fmt: skip
            # cProfile's default clock is the wall clock: on a busy machine that profiles the
            # neighbours. The process's CPU clock counts only the server's own work.
            profile = ["-c", PROFILED, args.profile] if args.profile else ["-m", "server"]
            with (workdir / "server.log").open("wb") as log:
                server = subprocess.Popen(
                    [sys.executable, *profile, "serve"],
                    env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                wait_http(f"http://127.0.0.1:{port}/healthz")
                result = asyncio.run(calls(f"http://127.0.0.1:{port}", server.pid, args))
            finally:
                server.terminate()
                server.wait(30)
            result.update(message_cpu(workdir / "server.log", args.calls))
    backend = "postgresql" if args.pg_admin else "sqlite"
    return {"benchmark": "ring_cpu", "database": backend, **result}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser("python -m bench.ring_cpu", description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--pg-admin", help="e.g. postgresql://postgres@127.0.0.1:5432/test: run on PostgreSQL"
    )
    parser.add_argument(
        "--relay", type=int, default=0, help="then relay N offers and N answers in one call"
    )
    parser.add_argument("--profile", help="write the server's cProfile statistics here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
