"""Offers and answers over idle tablets: `python -m bench.relay --kiosks 19000` prints JSON.

N tablets connect and stay idle (our server on the PostgreSQL bench population, scheduler off;
the PeerJS server with the same load client). `--pairs` staff sockets (ours: bulk nurses, one
each, logged in through the login form) each ring one tablet, which accepts and keeps the call.
Then, for `--duration-s` seconds, both ends of every call send offer/answer-sized messages
(`--size` bytes of fake SDP carrying its send time) to each other, `--rate` messages per second
in all (2,000: 10 per socket for 100 pairs). Ours relays `offer`/`answer` inside the call;
PeerJS relays `OFFER`/`ANSWER` by id.

- `relay_p50_ms` / `relay_p99_ms`: send → receipt (CLOCK_MONOTONIC on one machine);
- `server_cpu_us_per_msg`: the server's CPU over the relay period per relayed message;
  `server_cpu_us_per_msg_net` subtracts the idle CPU measured over as long a period just before
  (19,000 idle sockets cost CPU of their own).

`--nodes 2` runs our server as two nodes over Redis (`SCREENVISIT_REDIS_URL`) with every call
across them: tablets connect straight to node B, nurses to node A, so each message goes through
Redis pub/sub; PeerJS, which has no multi-node mode, runs as one process for reference.

Goals (issue 14): p99 ≤ 5 ms and ≤ 60 µs of server CPU per message; across two nodes at most
1 ms more at p50 and 5 ms more at p99 than on one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from . import harness
from .harness import Target, percentile, sample
from .loadclient import Fleet
from .population import Population

FIGURES = ("relay_p50_ms", "relay_p99_ms", "server_cpu_us_per_msg", "server_cpu_us_per_msg_net")


def pair_tablets(tablets: Sequence[tuple[str, str]], pairs: int) -> list[str]:
    """``pairs`` tablets spread evenly over the population (across every load worker)."""
    step = max(1, len(tablets) // max(1, pairs))
    return [key for key, _ in tablets[::step][:pairs]]


async def one_run(
    target: Target,
    run: int,
    *,
    tablets: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    logins: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Tablets online, the calls held, an idle baseline, the relay period; the figures."""
    pairs = pair_tablets(tablets, args.pairs)
    # Two nodes: every call crosses them (tablets on node B, nurses on node A).
    across = isinstance(target, harness.Nodes) and len(target.nodes) > 1
    kiosk_node, staff_node = (1, 0) if across else (None, None)
    fleet, counts = await harness.tablets_online(target, tablets, args.concurrency, kiosk_node)
    try:
        await fleet.ask_all({"cmd": "hold", "keys": pairs})
        staff = await harness.staff_online(target, logins[: len(pairs)], staff_node)
        try:
            held = await staff.ask(0, {"cmd": "held_calls", "targets": pairs})
            result = await measure(target, fleet, staff, args)
        finally:
            await staff.stop()
        await fleet.ask_all({"cmd": "close"})
    finally:
        await fleet.stop()
    return {
        "kiosks": len(tablets),
        "connected": counts["ok"],
        "pairs": held["held"],
        "ring_refusals": held["refusals"],
        **result,
    }


async def measure(
    target: Target, fleet: Fleet, staff: Fleet, args: argparse.Namespace
) -> dict[str, Any]:
    """Idle for as long as the relay period, then relay; latency and CPU figures."""
    await asyncio.sleep(args.settle_s)
    idle_start = sample(target.pids())
    await asyncio.sleep(args.duration_s)
    idle_end = sample(target.pids())
    command = {
        "cmd": "relay",
        "rate": args.rate / (2 * args.pairs),
        "duration_s": args.duration_s,
        "size": args.size,
    }
    before = sample(target.pids())
    replies = await asyncio.gather(fleet.ask_all(command), staff.ask(0, command))
    after = sample(target.pids())
    every = [*replies[0], replies[1]]
    latencies = [v for r in every for v in r["latency_ms"]]
    received = len(latencies)
    cpu = after.cpu_s - before.cpu_s
    idle_rate = (idle_end.cpu_s - idle_start.cpu_s) / max(1e-9, idle_end.at - idle_start.at)
    net = cpu - idle_rate * (after.at - before.at)
    return {
        "sent": sum(r["sent"] for r in every),
        "received": received,
        "relay_p50_ms": percentile(latencies, 50),
        "relay_p99_ms": percentile(latencies, 99),
        "relay_max_ms": percentile(latencies, 100),
        "idle_cpu_pct": round(100 * idle_rate, 2),
        "server_cpu_us_per_msg": round(1e6 * cpu / max(1, received), 1),
        "server_cpu_us_per_msg_net": round(1e6 * net / max(1, received), 1),
    }


async def run(args: argparse.Namespace, pop: Population | None = None) -> dict[str, Any]:
    """Every run of both servers on ``pop`` (or a population made for it); the JSON."""
    if args.nodes == 1:
        return await harness.run_both(args, "relay", one_run, FIGURES, pop=pop)
    async with harness.redis_db(args.redis_url):
        return await harness.run_both(
            args,
            "relay",
            one_run,
            FIGURES,
            pop=pop,
            nodes=2,
            peer_nodes=1,
            redis_url=args.redis_url,
        )


def build_parser() -> argparse.ArgumentParser:
    """Options."""
    parser = harness.common_parser("python -m bench.relay", __doc__)
    parser.add_argument("--pairs", type=int, default=100, help="calls (at most 100 nurses)")
    parser.add_argument("--rate", type=float, default=2_000, help="messages per second in all")
    parser.add_argument("--size", type=int, default=3_000, help="bytes of SDP per message")
    parser.add_argument("--duration-s", type=float, default=30.0, help="relay period")
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait before the baseline")
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=1, help="ours: 2 over Redis")
    parser.add_argument(
        "--redis-url", default=harness.BENCH_REDIS, help="--nodes 2: a Redis db, emptied"
    )
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The options, with ``--quick`` applied."""
    args = build_parser().parse_args(argv)
    if args.quick:  # 200 tablets, 10 pairs at 200 msg/s for 3 s, one run
        args.kiosks, args.runs, args.settle_s = min(args.kiosks, 200), 1, 1.0
        args.pairs, args.rate, args.duration_s = min(args.pairs, 10), 200.0, 3.0
    args.argv = list(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse(sys.argv[1:] if argv is None else argv)
    harness.emit(asyncio.run(run(args)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
