"""Markdown tables for docs/benchmarks.md from the load benchmarks' JSON files:
`python -m bench.report result.json …` prints one table per file (figure, ours, PeerJS, ratio,
goal) and the line of context the doc records with it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Figure → (goal as written in issue 14, test on our value); figures without a goal have none.
GOALS: dict[str, tuple[str, Any]] = {
    "per_connection_kb": ("≤ 12", lambda v: v <= 12),
    "handshake_cpu_ms": ("≤ 1", lambda v: v <= 1),
    "idle_cpu_pct": ("≤ 5", lambda v: v <= 5),
    "ping_rtt_p99_ms": ("≤ 50", lambda v: v <= 50),
    "disconnect_settle_ms": ("< 2,000", lambda v: v < 2000),
    "all_back_ms": ("≤ 20,000", lambda v: v <= 20000),
    "failed_handshakes": ("0", lambda v: v == 0),
    "ring_p99_ms": ("≤ 50", lambda v: v <= 50),
    "relay_p99_ms": ("≤ 5", lambda v: v <= 5),
    "server_cpu_us_per_msg_net": ("≤ 60", lambda v: v <= 60),
}
EXTRA = ("held", "connected", "back", "rings", "received", "pairs", "sent", "rss_mb", "refused")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(result: dict[str, Any]) -> str:
    """One markdown table of a benchmark's medians, with goals marked met or missed."""
    ours, peer, ratio = result["screenvisit"], result["peerjs"], result["ratio"]
    lines = [
        f"`{result['command']}` — {result['date']}, {result['machine']}, "
        f"1-minute load {result['load_1m'][0]} → {result['load_1m'][1]}, "
        f"median of {result['runs']} run(s)",
        "",
        "| median | screenvisit | PeerJS | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for key in [*ratio, *(k for k in EXTRA if k in ours)]:
        goal = ""
        if key in GOALS and isinstance(ours.get(key), int | float):
            text, test = GOALS[key]
            goal = f"{text} {'met' if test(ours[key]) else '**missed**'}"
        lines.append(
            f"| `{key}` | {_cell(ours.get(key))} | {_cell(peer.get(key))} | "
            f"{_cell(ratio.get(key))} | {goal} |"
        )
    runs = result["all_runs"]
    for key in list(ratio)[:3]:
        ours_runs = ", ".join(_cell(r.get(key)) for r in runs["screenvisit"])
        peer_runs = ", ".join(_cell(r.get(key)) for r in runs["peerjs"])
        lines.append(f"\n`{key}` per run: ours {ours_runs}; PeerJS {peer_runs}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a table for every JSON file named."""
    for name in sys.argv[1:] if argv is None else argv:
        print(table(json.loads(Path(name).read_text())) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
