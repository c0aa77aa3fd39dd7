"""What every load benchmark shares: the servers under test (ours on a bench population, the
PeerJS server, either of them as two nodes behind nginx), core pinning, process figures from
/proc, percentiles, the median of runs and the side-by-side result.

The server runs on the first core, the load client (and nginx) on the others, so the server's
CPU figures are its own. On a 2-core machine that is core 0 against core 1.
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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from .dialects import Proto
from .loadclient import Fleet, workers_for
from .population import (
    PROJECT_DIR,
    Population,
    population,
    server_env,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PEERJS = PROJECT_DIR / "node_modules" / "peer" / "dist" / "bin" / "peerjs.js"
STOP_GRACE_S = 10.0
# The benchmarks' own Redis db for the multi-node mode (tests use 0, 8, 9 and claim 10-15).
BENCH_REDIS = "redis://127.0.0.1:6379/7"


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def core_split() -> tuple[set[int], set[int]]:
    """(server cores, client cores): the first core for the server, the rest for the clients."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return set(cores), set(cores)
    return {cores[0]}, set(cores[1:])


def pinned(argv: list[str], cpus: set[int]) -> list[str]:
    """``argv`` run by taskset on ``cpus`` (threads started later stay there too)."""
    if not shutil.which("taskset"):
        return argv
    return ["taskset", "-c", ",".join(map(str, sorted(cpus))), *argv]


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """A process's resident memory and CPU time at one moment."""

    rss_kb: int
    cpu_s: float
    at: float


def sample(pids: Sequence[int]) -> Sample:
    """Summed over ``pids``: resident set size (KB) and user + system CPU seconds."""
    rss = cpu = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        rss += int(fields[21]) * PAGE_KB  # rss in pages
    return Sample(int(rss), cpu, time.monotonic())


def cpu_pct(a: Sample, b: Sample) -> float:
    """CPU used between two samples, in % of one core."""
    return round(100 * (b.cpu_s - a.cpu_s) / max(1e-9, b.at - a.at), 2)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile rounded to 0.01; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)


def wait_http(url: str, deadline_s: float = 60.0) -> float:
    """Poll ``url`` until it answers 2xx; the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 300:
                    return time.monotonic() - started
        except OSError:
            if time.monotonic() - started > deadline_s:
                raise RuntimeError(f"{url} did not answer; see the server's log") from None
        time.sleep(0.1)


class Target(Protocol):
    """A server under test: one or more processes, one address for the clients."""

    name: str
    proto: Proto
    ws_base: str  # ws://host:port
    http_base: str  # http://host:port
    health_url: str

    def pids(self) -> list[int]: ...
    async def start(self) -> None: ...
    async def stop(self, grace_s: float = STOP_GRACE_S) -> dict[str, Any]: ...


@dataclasses.dataclass
class Node:
    """One server process: started pinned, its output in a log file."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    health_url: str
    cpus: set[int]
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        """Start the process (pinned), its output appended to the log."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                pinned(self.argv, self.cpus), env=self.env, cwd=PROJECT_DIR,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def start(self) -> float:
        """Start and wait until healthy; seconds until it answered."""
        self.spawn()
        return await asyncio.to_thread(wait_http, self.health_url)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> dict[str, Any]:
        """SIGTERM, then SIGKILL after the grace; how long it took and whether it was killed."""
        proc, started, killed = self.proc, time.monotonic(), False
        if proc is None or proc.poll() is not None:
            return {"stop_ms": 0.0, "killed": False}
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)
            killed = True
        return {"stop_ms": round((time.monotonic() - started) * 1000, 1), "killed": killed}


class Nodes:
    """One or two server processes; two sit behind nginx, which the clients reach."""

    def __init__(
        self, name: str, proto: Proto, nodes: list[Node], front: Nginx | None, port: int
    ) -> None:
        self.name, self.proto, self.nodes, self.front = name, proto, nodes, front
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.http_base = f"http://127.0.0.1:{port}"
        self.health_url = nodes[0].health_url if front is None else f"{self.http_base}/healthz"
        if proto == "peerjs" and front is not None:
            self.health_url = f"{self.http_base}/p/"

    def direct(self, node: int | None) -> tuple[str, str]:
        """(ws base, http base) of one node past nginx, or of the front for None."""
        if node is None:
            return self.ws_base, self.http_base
        port = self.nodes[node].port
        return f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}"

    def pids(self) -> list[int]:
        """The server processes (not nginx)."""
        return [n.proc.pid for n in self.nodes if n.proc is not None]

    async def start(self) -> None:
        """Every node, then the front."""
        for node in self.nodes:
            await node.start()
        if self.front is not None:
            self.front.start()
            await asyncio.to_thread(wait_http, self.health_url)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> dict[str, Any]:
        """The front, then the nodes; the slowest node's stop figures."""
        if self.front is not None:
            self.front.stop()
        results = await asyncio.gather(*(n.stop(grace_s) for n in self.nodes))
        return max(results, key=lambda r: float(r["stop_ms"]))


def ours(
    population: Population, workdir: Path, cpus: set[int], nodes: int = 1, **settings: str
) -> Nodes:
    """Our server (`python -m server serve`) on the population's database."""
    ports = [free_port() for _ in range(nodes)]
    front_port = free_port() if nodes > 1 else ports[0]
    members = []
    for i, port in enumerate(ports):
        env = server_env(population.database_url, host="127.0.0.1", port=str(port),
                         public_url=f"http://127.0.0.1:{front_port}", **settings)  # fmt: skip
        argv = [sys.executable, "-m", "server", "serve"]
        members.append(
            Node(
                argv,
                env,
                workdir / f"server-{i}.log",
                f"http://127.0.0.1:{port}/healthz",
                cpus,
                port,
            )
        )
    front = Nginx(workdir, front_port, ports, "/ws", cpus_for_front()) if nodes > 1 else None
    return Nodes("screenvisit", "ours", members, front, front_port)


def peerjs(workdir: Path, cpus: set[int], nodes: int = 1) -> Nodes:
    """The PeerJS server (npm `peer`), as the issue starts it."""
    ports = [free_port() for _ in range(nodes)]
    front_port = free_port() if nodes > 1 else ports[0]
    members = []
    for i, port in enumerate(ports):
        argv = ["node", str(PEERJS), "--port", str(port), "--host", "127.0.0.1", "--key", "peerjs",
                "--path", "/p", "--concurrent_limit", "200000"]  # fmt: skip
        members.append(
            Node(
                argv,
                dict(os.environ),
                workdir / f"peerjs-{i}.log",
                f"http://127.0.0.1:{port}/p/",
                cpus,
                port,
            )
        )
    front = Nginx(workdir, front_port, ports, "/p/", cpus_for_front()) if nodes > 1 else None
    return Nodes("peerjs", "peerjs", members, front, front_port)


@contextlib.asynccontextmanager
async def redis_db(url: str) -> AsyncIterator[None]:
    """The nodes' Redis db, emptied before and after (nodes of an earlier run are gone)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
        yield
        await client.flushdb()
    finally:
        await client.aclose()


def cpus_for_front() -> set[int]:
    """nginx runs beside the load client, away from the server's core."""
    return core_split()[1]


NGINX_CONF = """
worker_processes {workers};
worker_rlimit_nofile 20000;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 19500; multi_accept on; }}
http {{
    access_log off;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream nodes {{ {servers} }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 3600s;
        }}
    }}
}}
"""


class Nginx:
    """nginx on loopback spreading WebSockets over the nodes (each worker may hold ~19,000 files:
    a proxied socket takes two, so 38,000 tablets need eight workers with room to spare)."""

    def __init__(
        self, workdir: Path, port: int, upstreams: list[int], path: str, cpus: set[int]
    ) -> None:
        self.dir, self.port, self.cpus = workdir / "nginx", port, cpus
        self.dir.mkdir(exist_ok=True)
        servers = " ".join(f"server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
        conf = NGINX_CONF.format(workers=8, dir=self.dir, servers=servers, port=port)
        (self.dir / "nginx.conf").write_text(conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Run nginx in the foreground (its master waits for us)."""
        argv = [
            "nginx",
            "-p",
            str(self.dir),
            "-c",
            str(self.dir / "nginx.conf"),
            "-g",
            "daemon off;",
        ]
        self.proc = subprocess.Popen(pinned(argv, self.cpus), stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """A fast shutdown (SIGTERM) of master and workers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- results -------------------------------------------------------------------------------


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per numeric key, the median over the runs (other keys from the last run)."""
    merged: dict[str, Any] = dict(runs[-1])
    for key, value in runs[-1].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
            merged[key] = round(statistics.median(values), 3)
    return merged


def ratios(
    ours_: dict[str, Any], peer: dict[str, Any], keys: Sequence[str]
) -> dict[str, float | None]:
    """Ours divided by PeerJS's for each figure (above 1: ours uses or takes more)."""
    out: dict[str, float | None] = {}
    for key in keys:
        a, b = ours_.get(key), peer.get(key)
        ok = isinstance(a, int | float) and isinstance(b, int | float) and b
        out[key] = round(a / b, 2) if ok else None  # type: ignore[operator]
    return out


def context(argv: Sequence[str], module: str, load_before: float) -> dict[str, Any]:
    """Machine, date, command and load: what docs/benchmarks.md records with each result."""
    return {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python -m bench.{module} " + " ".join(argv),
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def side_by_side(
    runs: int, make: Sequence[Callable[[Path], Target]], one_run: Callable[[Target, int], Any]
) -> dict[str, list[dict[str, Any]]]:
    """``runs`` runs of each target, alternating targets, each in a fresh temporary directory."""
    results: dict[str, list[dict[str, Any]]] = {}
    for n in range(runs):
        for factory in make:
            with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
                target = factory(Path(tmp))
                try:
                    await target.start()
                    result = await one_run(target, n)
                except BaseException:
                    _show_logs(Path(tmp))
                    raise
                finally:
                    with contextlib.suppress(Exception):
                        await target.stop()
                    _keep_logs(Path(tmp), f"{target.name}-{n}")
                result["run_load_1m"] = round(os.getloadavg()[0], 2)  # busy neighbours
                results.setdefault(target.name, []).append(result)
    return results


def _keep_logs(workdir: Path, name: str) -> None:
    """With ``BENCH_KEEP_LOGS=DIR`` every run's server, PeerJS and nginx logs are copied to
    DIR/<server>-<run>/ before the run's directory goes (e.g. to read nginx's 502s)."""
    keep = os.environ.get("BENCH_KEEP_LOGS")
    if keep:
        for log in workdir.rglob("*.log"):
            target = Path(keep) / name / log.relative_to(workdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, target)


def _show_logs(workdir: Path) -> None:
    """The end of every server log of a failed run, on stderr (the directory is removed)."""
    for log in sorted(workdir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-30:]
        print(f"--- {log.name}\n" + "\n".join(lines), file=sys.stderr)


# -- the shape every load benchmark shares --------------------------------------------------


def _bases(target: Target, node: int | None) -> tuple[str, str]:
    return target.direct(node) if isinstance(target, Nodes) else (target.ws_base, target.http_base)


async def tablets_online(
    target: Target,
    tablets: Sequence[tuple[str, str]],
    concurrency: int,
    node: int | None = None,
    ping_s: float = 30.0,
) -> tuple[Fleet, dict[str, int]]:
    """A load client fleet on the client cores with every tablet connected (through the front,
    or straight to one node); ok/failed counts."""
    _, client_cpus = core_split()
    ws, http = _bases(target, node)
    fleet = await Fleet.start(
        workers_for(len(tablets)), target.proto, ws, http, client_cpus, concurrency
    )
    try:
        counts = await fleet.connect_kiosks(tablets)
        # Idle tablets ping every 30 s; PeerJS closes a socket silent for 60 s.
        await fleet.ask_all({"cmd": "pings", "interval_s": ping_s})
    except BaseException:
        await fleet.stop()
        raise
    return fleet, counts


async def staff_online(
    target: Target, logins: Sequence[tuple[str, str]], node: int | None = None
) -> Fleet:
    """One load worker holding a staff socket per login (ours: each nurse logs in through the
    login form; PeerJS: the username is the peer id)."""
    _, client_cpus = core_split()
    ws, http = _bases(target, node)
    fleet = await Fleet.start(1, target.proto, ws, http, client_cpus, 50, first_ip=200)
    try:
        reply = await fleet.ask(0, {"cmd": "staff", "logins": list(logins)})
        if reply["failed"]:
            raise RuntimeError(f"{reply['failed']} of {len(logins)} staff sockets did not connect")
        await fleet.ask(0, {"cmd": "pings", "interval_s": 30.0})
    except BaseException:
        await fleet.stop()
        raise
    return fleet


def common_parser(prog: str, doc: str | None, kiosks: int = 19_000) -> argparse.ArgumentParser:
    """Options every load benchmark has."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("--kiosks", type=int, default=kiosks, help="idle tablets")
    parser.add_argument("--runs", type=int, default=3, help="runs per server (median)")
    parser.add_argument("--concurrency", type=int, default=200, help="handshakes at once")
    parser.add_argument("--quick", action="store_true", help="a smoke run of under a minute")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser


async def run_both(
    args: argparse.Namespace,
    module: str,
    one_run: Callable[..., Any],
    figures: Sequence[str],
    *,
    pop: Population | None = None,
    nodes: int = 1,
    peer_nodes: int | None = None,
    **settings: str,
) -> dict[str, Any]:
    """Population (``pop``, or one made for the run), every run of both servers alternating,
    medians and ratios: the JSON."""
    load_before = os.getloadavg()[0]
    server_cpus, _ = core_split()
    async with contextlib.AsyncExitStack() as stack:
        if pop is None:
            pop = await stack.enter_async_context(population(args.kiosks))
        tablets = pop.tablets()[: args.kiosks]
        made = pop
        makers: list[Callable[[Path], Target]] = [
            lambda d: ours(made, d, server_cpus, nodes, **settings),
            lambda d: peerjs(d, server_cpus, peer_nodes or nodes),
        ]
        logins = pop.logins()
        runs = await side_by_side(
            args.runs,
            makers,
            lambda t, n: one_run(t, n, tablets=tablets, args=args, logins=logins),
        )
    ours_, peer = (median_of(runs[k]) for k in ("screenvisit", "peerjs"))
    return {
        "bench": module,
        "kiosks": args.kiosks,
        "nodes": nodes,
        "runs": args.runs,
        "screenvisit": ours_,
        "peerjs": peer,
        "ratio": ratios(ours_, peer, figures),
        "all_runs": runs,
        **context(args.argv, module, load_before),
    }


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print the JSON (and write it to ``out``)."""
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    print(text)
