"""A burst of rings over idle tablets: `python -m bench.ring_burst --kiosks 19000` prints JSON.

N tablets connect and stay idle (our server on the PostgreSQL bench population, scheduler off;
the PeerJS server with the same load client). Twenty staff sockets (ours: twenty bulk nurses of
the population, each logged in through the login form; a person is in one call at a time) then
ring `--rings` different tablets evenly spread over `--duration-s` seconds, each socket one ring
at a time. Tablets with an odd citizen id decline at once, the others accept and hang up 50 ms
later; a staff socket rings its next tablet when the call has ended. On PeerJS a ring is an
`OFFER` and the tablet's reply an `ANSWER`.

`ring_p50_ms` … `ring_p99_ms`: from the staff socket sending the ring to the tablet receiving it
(CLOCK_MONOTONIC on both sides: one machine). `late_p99_ms`: how far behind its schedule a ring
was sent (a staff socket still busy with its previous call). `server_cpu_ms_per_ring`: the
server's CPU over the burst per ring. Goal (issue 14): p99 ≤ 50 ms for 2,000 rings in 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import harness
from .harness import Target, percentile, sample
from .population import Population

FIGURES = ("ring_p50_ms", "ring_p95_ms", "ring_p99_ms", "server_cpu_ms_per_ring", "late_p99_ms")


async def one_run(
    target: Target,
    run: int,
    *,
    tablets: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    logins: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Tablets online, staff online, the burst; this run's figures."""
    chosen = random.Random(run).sample([key for key, _ in tablets], min(args.rings, len(tablets)))
    fleet, counts = await harness.tablets_online(target, tablets, args.concurrency)
    try:
        staff = await harness.staff_online(target, logins[: args.staff])
        try:
            await asyncio.sleep(args.settle_s)
            before = sample(target.pids())
            reply = await staff.ask(
                0, {"cmd": "rings", "targets": chosen, "duration_s": args.duration_s}
            )
            after = sample(target.pids())
        finally:
            await staff.stop()
        received: dict[str, int] = {}
        for log in await fleet.ask_all({"cmd": "ring_log"}):
            received.update(log["received"])
        await fleet.ask_all({"cmd": "close"})
    finally:
        await fleet.stop()
    records = reply["records"]
    latencies = [(received[key] - sent) / 1e6 for key, sent, _, _ in records if key in received]
    return {
        "kiosks": len(tablets),
        "connected": counts["ok"],
        "rings": len(records),
        "received": len(latencies),
        "outcomes": dict(Counter(outcome for *_, outcome in records)),
        **{f"ring_p{p}_ms": percentile(latencies, p) for p in (50, 95, 99)},
        "ring_max_ms": percentile(latencies, 100),
        "late_p99_ms": percentile([late for _, _, late, _ in records], 99),
        "burst_ms": round((after.at - before.at) * 1000, 1),
        "server_cpu_ms_per_ring": round(
            1000 * (after.cpu_s - before.cpu_s) / max(1, len(records)), 3
        ),
    }


async def run(args: argparse.Namespace, pop: Population | None = None) -> dict[str, Any]:
    """Every run of both servers on ``pop`` (or a population made for it); the JSON."""
    return await harness.run_both(args, "ring_burst", one_run, FIGURES, pop=pop)


def build_parser() -> argparse.ArgumentParser:
    """Options."""
    parser = harness.common_parser("python -m bench.ring_burst", __doc__)
    parser.add_argument("--rings", type=int, default=2_000, help="different tablets rung")
    parser.add_argument("--duration-s", type=float, default=60.0, help="spread over")
    parser.add_argument("--staff", type=int, default=20, help="staff sockets ringing")
    parser.add_argument("--settle-s", type=float, default=5.0, help="idle before the burst")
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The options, with ``--quick`` applied."""
    args = build_parser().parse_args(argv)
    if args.quick:  # 200 tablets, 100 rings in 5 s, one run
        args.kiosks, args.runs, args.settle_s = min(args.kiosks, 200), 1, 1.0
        args.rings, args.duration_s = min(args.rings, 100), min(args.duration_s, 5.0)
    args.argv = list(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse(sys.argv[1:] if argv is None else argv)
    harness.emit(asyncio.run(run(args)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
