"""Idle tablets: `python -m bench.idle_kiosks --kiosks 19000` prints JSON.

Our server (PostgreSQL population from `bench.population`, scheduler off) and the PeerJS server
each get the same load client (`bench.loadclient`): N tablets connect (at most `--concurrency`
handshakes at once), then sit idle for `--idle-s` seconds sending an app ping every 30 s (ours:
`ping` → `pong`; PeerJS: `HEARTBEAT` plus an `OFFER` to itself, whose echo is the round trip),
then all close at once. Per run and server it measures:

- `per_connection_kb`: the server's RSS growth from before the connects to the end of the idle
  period, divided by the sockets held;
- `handshake_cpu_ms`: the server's CPU time over the connect phase divided by the connections;
- `connect_wall_ms`: wall time until every tablet is connected (or gave up after 3 tries);
- `idle_cpu_pct`: the server's CPU over the idle period, in % of one core (from /proc/PID/stat);
- `ping_rtt_p50_ms` / `ping_rtt_p99_ms` during the idle period;
- `disconnect_settle_ms`: from the mass close until the server answers its health URL twice in a
  row within 50 ms; `disconnect_cpu_ms`: the server's CPU time over that span.

`--nodes 2` puts two processes of each server behind nginx on loopback (38,000 tablets need
two: a process may open 20,000 files). Ours then runs with `SCREENVISIT_REDIS_URL` set
(`--redis-url`), the multi-node mode. The server runs on core 0, clients and nginx on the rest.
Three runs by default, alternating the servers; the JSON has each server's median, every run
and the ratio ours / PeerJS.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

from . import harness
from .harness import Target, percentile, sample
from .population import Population

FIGURES = (
    "per_connection_kb", "handshake_cpu_ms", "connect_wall_ms", "idle_cpu_pct",
    "ping_rtt_p50_ms", "ping_rtt_p99_ms", "disconnect_settle_ms",
)  # fmt: skip


def settle_ms(url: str, deadline_s: float = 60.0) -> float | None:
    """Milliseconds until ``url`` answers twice in a row within 50 ms; None past the deadline."""
    started = time.monotonic()
    quick = 0
    while time.monotonic() - started < deadline_s:
        asked = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                fast = response.status < 300 and time.monotonic() - asked < 0.05
        except OSError:
            fast = False
        quick = quick + 1 if fast else 0
        if quick == 2:
            return round((time.monotonic() - started) * 1000, 1)
        time.sleep(0.05)
    return None


async def one_run(
    target: Target,
    run: int,
    *,
    tablets: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    logins: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Connect, idle, close; this run's figures for one server."""
    await asyncio.sleep(1.0)
    base, started = sample(target.pids()), time.monotonic()
    fleet, counts = await harness.tablets_online(
        target, tablets, args.concurrency, ping_s=args.ping_s
    )
    try:
        connect_ms = (time.monotonic() - started) * 1000
        connected = sample(target.pids())
        await asyncio.sleep(args.settle_s)  # the tail of the connect burst
        await fleet.ask_all({"cmd": "stats", "reset": True})
        before_idle = sample(target.pids())
        await asyncio.sleep(args.idle_s)
        after_idle = sample(target.pids())
        stats = await fleet.ask_all({"cmd": "stats", "reset": True})
        closing = sample(target.pids())
        await fleet.ask_all({"cmd": "close"})
        settle = await asyncio.to_thread(settle_ms, target.health_url)
        settled = sample(target.pids())
    finally:
        await fleet.stop()
    held = sum(s["held"] for s in stats)
    rtts = [v for s in stats for v in s["rtt_ms"]]
    failures: dict[str, int] = {}
    for s in stats:
        for reason, n in s["failures"].items():
            failures[reason] = failures.get(reason, 0) + n
    return {
        "kiosks": len(tablets),
        "connected": counts["ok"],
        "connect_failed": counts["failed"],
        "held": held,
        "dropped": sum(s["dropped"] for s in stats),
        "handshake_failures": failures,
        "per_connection_kb": round((after_idle.rss_kb - base.rss_kb) / max(1, held), 2),
        "rss_mb": round(after_idle.rss_kb / 1024, 1),
        "handshake_cpu_ms": round(1000 * (connected.cpu_s - base.cpu_s) / max(1, counts["ok"]), 3),
        "connect_wall_ms": round(connect_ms, 1),
        "idle_cpu_pct": harness.cpu_pct(before_idle, after_idle),
        "pings": len(rtts),
        "ping_rtt_p50_ms": percentile(rtts, 50),
        "ping_rtt_p99_ms": percentile(rtts, 99),
        "ping_rtt_max_ms": max(rtts, default=None),
        "disconnect_settle_ms": settle,
        # The server's CPU from the mass close until it settled (holds on a busy machine).
        "disconnect_cpu_ms": round(1000 * (settled.cpu_s - closing.cpu_s), 1),
    }


async def run(args: argparse.Namespace, pop: Population | None = None) -> dict[str, Any]:
    """Every run of both servers on ``pop`` (or a population made for it); the JSON."""
    if args.nodes == 1:
        result = await harness.run_both(args, "idle_kiosks", one_run, FIGURES, pop=pop)
    else:
        async with harness.redis_db(args.redis_url):
            result = await harness.run_both(
                args, "idle_kiosks", one_run, FIGURES, pop=pop, nodes=2, redis_url=args.redis_url
            )
    return {**result, "idle_s": args.idle_s}


def build_parser() -> argparse.ArgumentParser:
    """Options."""
    parser = harness.common_parser("python -m bench.idle_kiosks", __doc__)
    parser.add_argument("--idle-s", type=float, default=60.0, help="idle period measured")
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait before the idle period")
    parser.add_argument("--ping-s", type=float, default=30.0, help="app ping interval")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=1)
    parser.add_argument(
        "--redis-url", default=harness.BENCH_REDIS, help="--nodes 2: a Redis db, emptied"
    )
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The options, with ``--quick`` applied."""
    args = build_parser().parse_args(argv)
    if args.quick:  # 200 tablets, one run, 5 s idle
        args.kiosks, args.runs, args.idle_s, args.settle_s = min(args.kiosks, 200), 1, 5.0, 1.0
    args.argv = list(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse(sys.argv[1:] if argv is None else argv)
    harness.emit(asyncio.run(run(args)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
