"""Each load benchmark runs end to end on a tiny population and prints the documented figures
for both servers (a smoke test of the tools: the numbers themselves are not checked)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import idle_kiosks, reconnect_storm, relay, ring_burst
from bench.population import Population

pytestmark = pytest.mark.postgres
SERVERS = ("screenvisit", "peerjs")


def check_shape(result: dict[str, Any], figures: tuple[str, ...]) -> None:
    """Both servers' medians, every run, the ratio and the context are there."""
    for key in ("machine", "date", "command", "load_1m", "ratio", "all_runs"):
        assert key in result
    for server in SERVERS:
        assert len(result["all_runs"][server]) == 1
        for figure in figures:
            assert figure in result[server], (server, figure)
    assert set(result["ratio"]) == set(figures)


async def test_idle_kiosks(bench_population: Population) -> None:
    """50 idle tablets on each server: memory, handshake CPU, idle CPU and ping times."""
    args = idle_kiosks.parse(
        ["--kiosks", "50", "--runs", "1", "--idle-s", "1", "--settle-s", "0.5", "--ping-s", "0.5"]
    )
    result = await idle_kiosks.run(args, bench_population)
    check_shape(result, idle_kiosks.FIGURES)
    for server in SERVERS:
        assert result[server]["held"] == 50
        assert result[server]["pings"] > 0


async def test_reconnect_storm(bench_population: Population) -> None:
    """A restart under 50 tablets: every tablet is back, and the times are reported."""
    args = reconnect_storm.parse(
        [
            "--kiosks",
            "50",
            "--runs",
            "1",
            "--settle-s",
            "0.5",
            "--backoff-min",
            "0.2",
            "--backoff-max",
            "0.5",
            "--timeout-s",
            "30",
            "--stop-grace-s",
            "2",
        ]
    )
    result = await reconnect_storm.run(args, bench_population)
    check_shape(result, reconnect_storm.FIGURES)
    for server in SERVERS:
        assert result[server]["back"] == 50


async def test_ring_burst(bench_population: Population) -> None:
    """20 rings over 50 tablets reach their tablets, each with a ring-sent → received time."""
    args = ring_burst.parse(
        [
            "--kiosks",
            "50",
            "--runs",
            "1",
            "--rings",
            "20",
            "--duration-s",
            "1",
            "--staff",
            "4",
            "--settle-s",
            "0.5",
        ]
    )
    result = await ring_burst.run(args, bench_population)
    check_shape(result, ring_burst.FIGURES)
    for server in SERVERS:
        assert result[server]["received"] == 20
        assert result[server]["outcomes"] == {"ok": 20}


async def test_relay(bench_population: Population) -> None:
    """Two held calls relay timed offers and answers; every message arrives."""
    args = relay.parse(
        [
            "--kiosks",
            "50",
            "--runs",
            "1",
            "--pairs",
            "2",
            "--rate",
            "40",
            "--duration-s",
            "1",
            "--settle-s",
            "0.5",
        ]
    )
    result = await relay.run(args, bench_population)
    check_shape(result, relay.FIGURES)
    for server in SERVERS:
        assert result[server]["pairs"] == 2
        assert result[server]["received"] == result[server]["sent"] > 0
