"""Call set-up latency: `python -m bench.call_setup --calls 200` prints JSON (times in *_ms).

Everything runs as separate processes on loopback: the real server (`python -m server serve`
on a temporary SQLite database seeded with `seed-demo`), one headless kiosk agent per tablet
(`python -m kiosk … --answer always --answer-delay 0`, with ICE pinned to 127.0.0.1) and one
aiortc staff caller that rings the tablets in turn, one call at a time. Per call it measures,
from the moment the ring is sent, when the caller's connection to the kiosk is `connected` and
when the caller decodes the kiosk's first video frame. The server runs with
`SCREENVISIT_SIGNALING_TIMING=true` and logs its own processing time per signalling message;
the server's share of one call set-up is the sum over that call's ring, accept, offer, answer
and candidates (`server_setup_*`), and over the relayed offer, answer and candidates alone
(`server_relay_*`).

With `--nodes 2` the same runs across two server processes over PostgreSQL and Redis (the
multi-node mode): the tablets connect to node A, the caller to node B, so every ring, answer,
offer and candidate crosses nodes through Redis; the server's share sums both nodes' logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET = "bench-call-setup-secret"
USERNAME, PASSWORD = "anna", "demo1234"  # demo nurse of Team Nord
TEAM_NORD = tuple(range(0, 20, 2))  # demo citizen indexes of Team Nord (citizen id = index + 1)
CALL_TIMEOUT_S = 20.0
SETUP_TYPES = frozenset({"ring", "accept", "offer", "answer", "candidate"})
RELAY_TYPES = frozenset({"offer", "answer", "candidate"})
TIMING = re.compile(r"signaling-timing (\{.*\})")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)


def summarise(name: str, values: Sequence[float], ps: Sequence[int]) -> dict[str, float | None]:
    """`{name}_p50_ms`, … for the given percentiles."""
    return {f"{name}_p{p}_ms": percentile(values, p) for p in ps}


# -- the orchestrator -----------------------------------------------------------------------


@dataclasses.dataclass
class Processes:
    """Child processes, stopped in reverse order of starting."""

    started: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """Start one child with its output in ``log``."""
        with log.open("wb") as out:
            child = subprocess.Popen(
                args, env=env, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        """SIGTERM everything, then SIGKILL what does not exit within 10 s."""
        for child in reversed(self.started):
            if child.poll() is None:
                child.terminate()
        for child in reversed(self.started):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def server_env(workdir: Path, port: int) -> dict[str, str]:
    """Environment for the server: temp SQLite, fixed secret (for demo tokens), timing on."""
    from server.settings import Settings

    wanted = {
        "database_url": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "secret_key": SECRET,
        "host": "127.0.0.1",
        "port": str(port),
        "public_url": f"http://127.0.0.1:{port}",
        "log_json": "false",
        "log_level": "INFO",
        "signaling_timing": "true",
        "scheduler_enabled": "false",  # no background work in the measurement
    }
    known = {f.name for f in dataclasses.fields(Settings)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    env.update({f"SCREENVISIT_{k.upper()}": v for k, v in wanted.items() if k in known})
    return env


def start_server(procs: Processes, workdir: Path, env: dict[str, str]) -> Path:
    """Migrate, seed the demo and serve; the server's log file."""
    for command in ("migrate", "seed-demo"):
        subprocess.run(
            [sys.executable, "-m", "server", command],
            env=env,
            cwd=PROJECT_DIR,
            check=True,
            capture_output=True,
        )
    log = workdir / "server.log"
    procs.start([sys.executable, "-m", "server", "serve"], env, log)
    return log


def wait_http(url: str, deadline_s: float = 60.0) -> None:
    """Poll until the server answers /healthz."""
    import urllib.request

    until = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > until:
                raise RuntimeError("the server did not start; see its log") from None
        time.sleep(0.2)


def kiosk_tokens(count: int, secret: str = SECRET) -> list[tuple[str, str]]:
    """(citizen id, device token) of the first ``count`` Team Nord tablets."""
    from server.demo import demo_kiosk_token
    from server.settings import Settings

    settings = Settings(secret_key=secret)
    return [(str(i + 1), demo_kiosk_token(settings, i)) for i in TEAM_NORD[:count]]


def read_timings(*logs: Path) -> dict[str, list[dict[str, Any]]]:
    """The servers' timing records grouped by call id."""
    by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if match := TIMING.search(line):
                record = json.loads(match.group(1))
                if record.get("call"):
                    by_call[record["call"]].append(record)
    return by_call


@dataclasses.dataclass
class Servers:
    """Where the tablets and the caller connect, the servers' logs, the tablets' secret."""

    tablets_url: str
    caller_url: str
    logs: list[Path]
    secret: str


def start_one(procs: Processes, workdir: Path) -> Servers:
    """One server on a temporary SQLite database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = start_server(procs, workdir, server_env(workdir, port))
    wait_http(url)
    return Servers(url, url, [log], SECRET)


def start_two(procs: Processes, workdir: Path, database_url: str, redis_url: str) -> Servers:
    """Two nodes over one PostgreSQL database and one Redis db (bench.population's secret)."""
    from bench import population

    urls, logs = [], []
    for name in ("a", "b"):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = population.server_env(
            database_url,
            host="127.0.0.1",
            port=str(port),
            public_url=url,
            redis_url=redis_url,
            signaling_timing="true",
            log_level="INFO",
        )
        log = workdir / f"server-{name}.log"
        procs.start([sys.executable, "-m", "server", "serve"], env, log)
        urls.append(url)
        logs.append(log)
    for url in urls:
        wait_http(url)
    return Servers(urls[0], urls[1], logs, population.SECRET)


@contextlib.contextmanager
def two_node_data(redis_url: str) -> Iterator[str]:
    """A demo database on PostgreSQL and an empty Redis db for the run; removed afterwards."""
    from bench import population

    made = asyncio.run(population.create(0, name=f"sv_bench_calls_{os.getpid()}"))
    try:
        asyncio.run(_flush(redis_url))
        yield made.database_url
    finally:
        asyncio.run(population.drop(made))
        asyncio.run(_flush(redis_url))


async def _flush(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def server_shares(
    calls: list[dict[str, Any]], timings: dict[str, list[dict[str, Any]]]
) -> tuple[list[float], list[float]]:
    """Per measured call: the server's set-up time and its relay time, in ms."""
    setup, relay = [], []
    for call in calls:
        records = timings.get(call["call_id"], [])
        setup.append(sum(r["us"] for r in records if r["type"] in SETUP_TYPES) / 1000)
        relay.append(sum(r["us"] for r in records if r["type"] in RELAY_TYPES) / 1000)
    return setup, relay


def message_times(
    calls: list[dict[str, Any]], timings: dict[str, list[dict[str, Any]]]
) -> dict[str, list[float]]:
    """The server's time per message of the measured calls' set-up, by message type, in ms."""
    per_type: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        for record in timings.get(call["call_id"], []):
            if record["type"] in SETUP_TYPES:
                per_type[record["type"]].append(record["us"] / 1000)
    return per_type


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, place the calls, stop everything; the JSON result."""
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    procs = Processes()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-calls-")))
        env = server_env(workdir, 0)
        try:
            if args.nodes == 2:
                database_url = stack.enter_context(two_node_data(args.redis_url))
                servers = start_two(procs, workdir, database_url, args.redis_url)
            else:
                servers = start_one(procs, workdir)
            tablets = kiosk_tokens(args.agents, servers.secret)
            for n, (_, token) in enumerate(tablets):
                procs.start(
                    [sys.executable, "-m", "bench.call_setup", "agent", "--server",
                     servers.tablets_url, "--token", token, "--answer", "always",
                     "--answer-delay", "0"],
                    env, workdir / f"agent-{n}.log",
                )  # fmt: skip
            caller = subprocess.run(
                [sys.executable, "-m", "bench.call_setup", "caller", "--server",
                 servers.caller_url,
                 "--citizens", ",".join(c for c, _ in tablets), "--calls", str(args.calls),
                 "--warmup", str(args.warmup), "--max-seconds", str(args.max_seconds)],
                env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
                timeout=args.max_seconds + 120,
            )  # fmt: skip
        finally:
            procs.stop_all()
        lines = [json.loads(line) for line in caller.stdout.splitlines() if line.startswith("{")]
        calls = [c for c in lines if "error" not in c]
        errors = [c["error"] for c in lines if "error" in c]
        timings = read_timings(*servers.logs)
        setup, relay = server_shares(calls, timings)
        per_type = message_times(calls, timings)
    return {
        "calls": len(calls),
        "failed": len(errors),
        "errors": sorted(set(errors))[:5],
        "agents": args.agents,
        "nodes": args.nodes,
        **summarise("ring_to_connected", [c["connected_ms"] for c in calls], (50, 95)),
        **summarise("ring_to_first_frame", [c["first_frame_ms"] for c in calls], (50, 95)),
        **summarise("server_setup", setup, (50, 95, 99)),
        **summarise("server_relay", relay, (50, 95, 99)),
        **{
            k: v
            for t in sorted(per_type)
            for k, v in summarise(f"server_{t}", per_type[t], (50, 95)).items()
        },
        "wall_s": round(time.monotonic() - started, 1),
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # other work on the box
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
        "command": "python -m bench.call_setup " + " ".join(args.argv),
    }


# -- child processes ------------------------------------------------------------------------


def pin_loopback_ice() -> None:
    """aioice skips 127.0.0.1 when it lists host addresses; the benchmark stays on loopback."""
    import aioice.ice

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"]

    aioice.ice.get_host_addresses = loopback


def agent_main(argv: Sequence[str]) -> int:
    """The real `python -m kiosk` agent, with ICE on loopback."""
    pin_loopback_ice()
    from kiosk.__main__ import main

    return main(["agent", *argv])


async def one_call(caller: Any, citizen_id: str) -> dict[str, Any]:
    """Ring, wait for the first decoded frame, hang up; the call's times from the ring."""
    from kiosk.signaling import SignalingError

    deadline = time.monotonic() + CALL_TIMEOUT_S
    while True:  # the agents may still be connecting at the start
        try:
            call_id = await caller.ring(citizen_id)
            break
        except SignalingError as exc:
            if exc.code.value not in ("offline", "busy") or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    try:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            call = await caller.wait_call()
            await call.peers.wait_video(1)
        (stats,) = call.peers.stats(since=caller.rang_at).values()
        return {
            "call_id": call_id,
            "connected_ms": stats["to_connected_ms"],
            "first_frame_ms": stats["to_first_video_ms"],
        }
    finally:
        if caller.call is not None:
            await caller.hangup()
        else:
            with contextlib.suppress(Exception):
                await caller.cancel()


async def caller_loop(args: argparse.Namespace) -> int:
    """Log in once, then place the calls one after another, one JSON line per call."""
    pin_loopback_ice()
    from kiosk.caller import StaffCaller

    citizens = args.citizens.split(",")
    until = time.monotonic() + args.max_seconds
    async with StaffCaller(args.server) as caller:
        await caller.login(USERNAME, PASSWORD)
        await caller.connect()
        for n in range(args.warmup + args.calls):
            if time.monotonic() > until:
                print(json.dumps({"error": "max_seconds"}), flush=True)
                break
            try:
                result = await one_call(caller, citizens[n % len(citizens)])
            except Exception as exc:  # a failed call is counted, the run goes on
                result = {"error": type(exc).__name__}
            if n >= args.warmup or "error" in result:
                print(json.dumps(result), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Options of the orchestrator."""
    parser = argparse.ArgumentParser(prog="python -m bench.call_setup", description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="measured calls (default 200)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls first")
    parser.add_argument("--agents", type=int, default=4, help="kiosk agents (tablets), 1-10")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop placing calls after")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=1, help="2: across nodes")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/6", help="with --nodes 2 (emptied)"
    )
    return parser


def caller_parser() -> argparse.ArgumentParser:
    """Options of the caller child process."""
    parser = argparse.ArgumentParser(prog="python -m bench.call_setup caller")
    parser.add_argument("--server", required=True)
    parser.add_argument("--citizens", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=600)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the orchestrator, or one of its child processes."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["agent"]:
        return agent_main(args_list[1:])
    if args_list[:1] == ["caller"]:
        return asyncio.run(caller_loop(caller_parser().parse_args(args_list[1:])))
    args = build_parser().parse_args(args_list)
    if not 1 <= args.agents <= len(TEAM_NORD):
        raise SystemExit(f"--agents must be 1-{len(TEAM_NORD)}")
    args.argv = args_list
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
