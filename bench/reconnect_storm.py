"""A restart under connected tablets: `python -m bench.reconnect_storm --kiosks 19000` prints JSON.

N tablets connect (our server on the PostgreSQL bench population, scheduler off; and the PeerJS
server, same load client). Then every tablet is told to reconnect whenever its socket closes,
after a random 1–5 s wait (again after every failed try), and the server is restarted: SIGTERM
(SIGKILL after `--stop-grace-s`, 10 s), then started again on the same port. Measured from the
SIGTERM:

- `all_back_ms`: until the last tablet has a new, welcomed socket (`back` of `kiosks` if not all
  are back within `--timeout-s`);
- `back_after_spawn_ms`: from starting the new process until the last tablet is back (the PeerJS
  server does not close its sockets on SIGTERM and is killed after the grace: this leaves it out);
- `stop_ms` (SIGTERM → exited, `killed` if it needed SIGKILL) and `start_ms` (spawn → healthy);
- `failed_handshakes`: tries that reached the new server and did not end in a welcome (HTTP
  errors, closed or timed-out handshakes, by reason in `failures`); `refused` counts tries while
  nothing listened, which the backoff expects.

Goal (issue 14): all back within 20 s, no failures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import harness
from .dialects import stamp_ns
from .harness import Nodes, Target
from .population import Population

FIGURES = ("all_back_ms", "back_after_spawn_ms", "stop_ms", "start_ms", "failed_handshakes")


async def restart(target: Target, grace_s: float) -> dict[str, Any]:
    """Stop and start the server again; how long each took."""
    assert isinstance(target, Nodes)
    stopped = await target.stop(grace_s)
    started, spawned_ns = time.monotonic(), stamp_ns()
    await target.start()
    return {
        **stopped,
        "start_ms": round((time.monotonic() - started) * 1000, 1),
        "spawned_ns": spawned_ns,
    }


async def one_run(
    target: Target,
    run: int,
    *,
    tablets: Sequence[tuple[str, str]],
    args: argparse.Namespace,
    logins: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Connect everyone, restart the server, wait for everyone to be back."""
    fleet, counts = await harness.tablets_online(target, tablets, args.concurrency)
    try:
        await fleet.ask_all({"cmd": "reconnect", "backoff": [args.backoff_min, args.backoff_max]})
        await asyncio.sleep(args.settle_s)
        since = stamp_ns()
        timings = await restart(target, args.stop_grace_s)
        replies = await fleet.ask_all(
            {"cmd": "await_back", "since_ns": since, "timeout_s": args.timeout_s}
        )
        await fleet.ask_all({"cmd": "close"})
    finally:
        await fleet.stop()
    back = sum(r["back"] for r in replies)
    last = max(r["last_back_ns"] for r in replies)
    failures: Counter[str] = Counter()
    for r in replies:
        failures.update(r["failures"])
    refused = failures.pop("refused", 0)
    spawned = timings.pop("spawned_ns")
    return {
        "kiosks": len(tablets),
        "connected_before": counts["ok"],
        "back": back,
        "all_back_ms": round((last - since) / 1e6, 1) if back == counts["ok"] else None,
        "last_back_ms": round((last - since) / 1e6, 1) if last else None,
        # PeerJS does not close its sockets on SIGTERM: this leaves its kill grace out.
        "back_after_spawn_ms": round((last - spawned) / 1e6, 1) if last else None,
        **timings,
        "failed_handshakes": sum(failures.values()),
        "failures": dict(failures),
        "refused": refused,
    }


async def run(args: argparse.Namespace, pop: Population | None = None) -> dict[str, Any]:
    """Every run of both servers on ``pop`` (or a population made for it); the JSON."""
    return await harness.run_both(args, "reconnect_storm", one_run, FIGURES, pop=pop)


def build_parser() -> argparse.ArgumentParser:
    """Options."""
    parser = harness.common_parser("python -m bench.reconnect_storm", __doc__)
    parser.add_argument("--backoff-min", type=float, default=1.0, help="seconds")
    parser.add_argument("--backoff-max", type=float, default=5.0, help="seconds")
    parser.add_argument("--settle-s", type=float, default=5.0, help="connected before restart")
    parser.add_argument("--stop-grace-s", type=float, default=10.0, help="SIGKILL after")
    parser.add_argument("--timeout-s", type=float, default=180.0, help="give up waiting after")
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The options, with ``--quick`` applied."""
    args = build_parser().parse_args(argv)
    if args.quick:  # 200 tablets, one run
        args.kiosks, args.runs, args.settle_s, args.timeout_s = min(args.kiosks, 200), 1, 1.0, 30.0
    args.argv = list(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse(sys.argv[1:] if argv is None else argv)
    harness.emit(asyncio.run(run(args)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
