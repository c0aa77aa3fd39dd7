"""Every load benchmark runs end to end once on a tiny population (20 tablets) against one run
of each server, ours and PeerJS, and yields the documented figures for both (a smoke test of
the tools: the numbers themselves are not checked).

Starting and stopping our server costs seconds of imports on a busy machine, far more than
the benchmarks' short phases here, so both servers are started once (``side_by_side``, as every
benchmark's ``run`` does) and each benchmark's ``one_run`` follows the other on them; the
reconnect storm goes last, since it restarts the server."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from bench import harness, idle_kiosks, reconnect_storm, relay, ring_burst
from bench.harness import Target
from bench.population import Population
from tests.bench.conftest import SMOKE_KIOSKS

pytestmark = pytest.mark.postgres
SERVERS = ("screenvisit", "peerjs")
KIOSKS = ["--kiosks", str(SMOKE_KIOSKS), "--runs", "1"]
RINGS = 10
# Each benchmark with phases as short as still exercise them, in the order they run.
BENCHES: tuple[tuple[ModuleType, list[str]], ...] = (
    (idle_kiosks, ["--idle-s", "0.6", "--settle-s", "0.2", "--ping-s", "0.2"]),
    (ring_burst, ["--rings", str(RINGS), "--duration-s", "1", "--staff", "2", "--settle-s", "0.2"]),
    (relay, ["--pairs", "2", "--rate", "40", "--duration-s", "0.5", "--settle-s", "0.2"]),
    (
        reconnect_storm,
        ["--settle-s", "0.2", "--backoff-min", "0.1", "--backoff-max", "0.3"]
        + ["--timeout-s", "30", "--stop-grace-s", "2"],
    ),
)


def name_of(module: ModuleType) -> str:
    """``idle_kiosks`` for ``bench.idle_kiosks``."""
    return module.__name__.rsplit(".", 1)[1]


def figures(module: ModuleType, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One benchmark's result as its ``run`` reports it: each server's figures and the ratio."""
    name = name_of(module)
    both = {server: harness.median_of([run[name] for run in runs[server]]) for server in SERVERS}
    ratio = harness.ratios(both["screenvisit"], both["peerjs"], module.FIGURES)
    return {**both, "ratio": ratio}


def check_shape(result: dict[str, Any], module: ModuleType) -> None:
    """Both servers report every documented figure, and the ratio covers them all."""
    for server in SERVERS:
        for figure in module.FIGURES:
            assert figure in result[server], (server, figure)
    assert set(result["ratio"]) == set(module.FIGURES)


async def test_every_load_benchmark_runs_once_on_both_servers(
    bench_population: Population,
) -> None:
    """Idle tablets (memory, CPU, pings), a ring burst (every ring arrives), relay over held
    calls (every message arrives) and a reconnect storm (every tablet is back), on each
    server."""
    parsed = {name_of(m): m.parse([*KIOSKS, *extra]) for m, extra in BENCHES}
    tablets = bench_population.tablets()[:SMOKE_KIOSKS]
    logins = bench_population.logins()

    async def every_bench(target: Target, run: int) -> dict[str, Any]:
        return {
            name: await module.one_run(
                target, run, tablets=tablets, args=parsed[name], logins=logins
            )
            for name, module in ((name_of(m), m) for m, _ in BENCHES)
        }

    server_cpus, _ = harness.core_split()
    makers = [
        lambda d: harness.ours(bench_population, d, server_cpus),
        lambda d: harness.peerjs(d, server_cpus),
    ]
    runs = await harness.side_by_side(1, makers, every_bench)
    assert {server: len(runs[server]) for server in SERVERS} == {s: 1 for s in SERVERS}
    idle, rings, relayed, storm = (figures(m, runs) for m, _ in BENCHES)
    for result, (module, _) in zip((idle, rings, relayed, storm), BENCHES, strict=True):
        check_shape(result, module)
    for server in SERVERS:
        assert idle[server]["held"] == SMOKE_KIOSKS and idle[server]["pings"] > 0
        assert rings[server]["received"] == RINGS
        assert rings[server]["outcomes"] == {"ok": RINGS}
        assert relayed[server]["pairs"] == 2
        assert relayed[server]["received"] == relayed[server]["sent"] > 0
        assert storm[server]["back"] == SMOKE_KIOSKS
