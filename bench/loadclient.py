"""The benchmarks' load client: thousands of WebSocket clients per process, several processes.

A process may open at most 20,000 files here, so a population of 19,000 tablets (and more)
is spread over worker processes (`python -m bench.loadclient`, a few thousand clients each, each
from its own loopback source address so no source-port range runs out). The orchestrator drives
them through `Fleet`: one JSON command per line on a worker's stdin, one JSON reply per line on
its stdout. Both wire protocols (`bench.dialects`) share every code path, so our server and the
PeerJS server meet the same client.

Commands: `kiosks` (connect tablets), `staff` (connect staff sockets), `pings` (start app pings),
`stats`, `reconnect` / `await_back` (a restart), `hold` (tablets that keep a call), `rings`,
`ring_log`, `relay`, `close`, `quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from . import dialects
from .dialects import Proto, stamp_ns

PROJECT_DIR = Path(__file__).resolve().parent.parent
HANDSHAKE_TIMEOUT_S = 30.0
RING_TIMEOUT_S = 15.0
HANGUP_AFTER_S = 0.05  # a tablet that accepts (outside a held call) hangs up this soon
LOGIN_CONCURRENCY = 8  # nurses logging in at once (Argon2 costs the server ~0.2 s each)
LOGIN_TRIES = 10
HOLD_TRIES = 5
READ_LIMIT = 1 << 26  # replies carry long lists of samples
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _NoWelcome(Exception):
    """The server answered the handshake with something else than its welcome."""


def _reason(exc: BaseException) -> str:
    """A failed handshake, counted by kind: HTTP status, refused, timeout …"""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"http_{exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "refused"
    return "no_welcome" if isinstance(exc, _NoWelcome) else type(exc).__name__


@dataclasses.dataclass(eq=False)
class Client:
    """One simulated tablet or staff socket."""

    key: str  # citizen id (ours) or PeerJS id
    secret: str  # device token (ours) or PeerJS token; the password for our staff
    staff: bool = False
    http: aiohttp.ClientSession | None = None  # our staff: a session of its own (its cookie)
    ws: aiohttp.ClientWebSocketResponse | None = None
    peer_id: str = ""
    call_id: str = ""
    partner: str = ""  # the other end of a held call: peer id (ours) or PeerJS id
    hold: bool = False  # accept a ring and stay in the call (the relay's pairs)
    ping_seq: int = 0
    ping_sent_ns: int = 0
    back_ns: int = 0  # when the latest handshake completed
    settled: asyncio.Future[bool] | None = None
    ended: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    paired: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    ring_error: str = ""


class Worker:
    """The clients of one process and the commands that drive them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.proto: Proto = args.proto
        self.base = args.url
        self.http = args.http
        self.connector = aiohttp.TCPConnector(limit=0, local_addr=(args.source_ip, 0))
        self.session = aiohttp.ClientSession(connector=self.connector)
        self.sem = asyncio.Semaphore(args.concurrency)
        self.clients: list[Client] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.reconnect = False
        self.backoff = (1.0, 5.0)
        self.max_attempts = 3
        self.failures: Counter[str] = Counter()
        self.dropped = 0
        self.rtts: list[float] = []
        self.ring_recv: dict[str, int] = {}
        self.relay_ms: list[float] = []
        self.pinger: asyncio.Task[None] | None = None
        self.came_back = asyncio.Event()  # some client completed a handshake
        self.logins = asyncio.Semaphore(LOGIN_CONCURRENCY)

    # -- connecting ---------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handshake(self, c: Client) -> bool:
        """Open, authenticate, wait for the welcome; False (counted) on any failure."""
        url = dialects.ws_url(self.proto, self.base, c.key, c.secret)
        first = dialects.staff_hello() if c.staff else dialects.hello(self.proto, c.secret)
        async with self.sem:
            ws = None
            try:
                async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                    ws = await (c.http or self.session).ws_connect(url, max_msg_size=1 << 20)
                    if first is not None:
                        await ws.send_str(first)
                    msg = await ws.receive()
                data = json.loads(msg.data) if msg.type is aiohttp.WSMsgType.TEXT else {}
                if not dialects.is_welcome(self.proto, data):
                    raise _NoWelcome
            except (_NoWelcome, TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.failures[_reason(exc)] += 1
                if ws is not None:
                    await ws.close()
                return False
        c.ws, c.back_ns = ws, stamp_ns()
        self.came_back.set()
        c.peer_id = data.get("peer_id", c.key) if self.proto == "ours" else c.key
        return True

    async def _life(self, c: Client) -> None:
        """Connect, read until closed; retry with jittered backoff while allowed."""
        attempts = 0
        while True:
            ok = await self._handshake(c)
            attempts += 1
            if ok:
                attempts = 0
                self._settle(c, True)
                await self._read(c)
                if not self.reconnect:
                    self.dropped += 1
                    return
            elif not self.reconnect and attempts >= self.max_attempts:
                self._settle(c, False)
                return
            await asyncio.sleep(random.uniform(*self.backoff))

    def _settle(self, c: Client, ok: bool) -> None:
        if c.settled is not None and not c.settled.done():
            c.settled.set_result(ok)

    async def _read(self, c: Client) -> None:
        ws = c.ws
        assert ws is not None
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._on_message(c, json.loads(msg.data))
        finally:
            c.ws, c.call_id, c.partner = None, "", ""
            c.ended.set()

    async def connect(self, clients: list[Client]) -> dict[str, Any]:
        """Start the clients' lives; reply once each is connected or has given up."""
        loop = asyncio.get_running_loop()
        for c in clients:
            c.settled = loop.create_future()
            self.clients.append(c)
            self._spawn(self._life(c))
        results = await asyncio.gather(*(c.settled for c in clients if c.settled))
        return {"ok": sum(results), "failed": len(results) - sum(results)}

    async def login(self, c: Client) -> None:
        """Our staff: the real login form (GET for the CSRF token, POST) in the client's own
        HTTP session, which keeps the session cookie for the socket. A busy server's 429 or
        503 is tried again after its Retry-After, as a browser's user would."""
        c.http = aiohttp.ClientSession(
            connector=self.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        async with self.logins:
            for _ in range(LOGIN_TRIES):
                status, retry_after = await self._login_once(c.http, c.key, c.secret)
                if status == 303:
                    return
                if status not in (429, 503):
                    break
                await asyncio.sleep(retry_after)
        raise RuntimeError(f"login answered {status}")

    async def _login_once(
        self, http: aiohttp.ClientSession, username: str, password: str
    ) -> tuple[int, float]:
        async with http.get(self.http + "/login") as page:
            match = _CSRF.search(await page.text())
        form = {"username": username, "password": password, "csrf_token": match[1] if match else ""}
        async with http.post(self.http + "/login", data=form, allow_redirects=False) as response:
            return response.status, float(response.headers.get("Retry-After", "1"))

    # -- messages -------------------------------------------------------------------------

    def _on_message(self, c: Client, msg: dict[str, Any]) -> None:
        seq = dialects.pong_seq(self.proto, c.key, msg)
        if seq is not None:
            if seq == c.ping_seq and c.ping_sent_ns:
                self.rtts.append((stamp_ns() - c.ping_sent_ns) / 1e6)
                c.ping_sent_ns = 0
            return
        kind = msg.get("type")
        if kind in ("offer", "answer", "OFFER", "ANSWER") and self._relayed(msg):
            return
        if c.staff:
            self._staff_message(c, msg)
        else:
            self._kiosk_message(c, msg)

    def _relayed(self, msg: dict[str, Any]) -> bool:
        payload = msg.get("payload")
        sdp = msg.get("sdp") if self.proto == "ours" else (payload or {}).get("sdp")
        sent = dialects.sent_at(sdp) if isinstance(sdp, str) else None
        if sent is None:
            return False
        self.relay_ms.append((stamp_ns() - sent) / 1e6)
        return True

    def _kiosk_message(self, c: Client, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if self.proto == "ours" and kind == "ring":
            self._rung(c, msg["call_id"], msg["caller"]["peer_id"])
        elif self.proto == "peerjs" and kind == "OFFER" and "ring" in (msg.get("payload") or {}):
            self._rung(c, "", msg["src"])
        elif kind == "call-ended":
            c.call_id, c.partner = "", ""

    def _rung(self, c: Client, call_id: str, caller: str) -> None:
        """A ring reached the tablet: held pairs accept, others decline or accept and hang up."""
        self.ring_recv.setdefault(c.key, stamp_ns())
        c.call_id, c.partner = call_id, caller
        if c.hold:
            self._send(c, dialects.reply_frame(self.proto, "accept", call_id, caller))
        elif int(re.sub(r"\D", "", c.key) or 0) % 2:
            self._send(c, dialects.reply_frame(self.proto, "decline", call_id, caller))
        else:
            self._send(c, dialects.reply_frame(self.proto, "accept", call_id, caller))
            self._spawn(self._hangup_soon(c, call_id, caller))

    async def _hangup_soon(self, c: Client, call_id: str, caller: str) -> None:
        await asyncio.sleep(HANGUP_AFTER_S)
        self._send(c, dialects.reply_frame(self.proto, "hangup", call_id, caller))

    def _staff_message(self, c: Client, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "call-state":
            c.call_id = msg["call_id"]
            if msg.get("state") == "active":
                kiosks = [p["peer_id"] for p in msg.get("peers", []) if p.get("kind") == "kiosk"]
                c.partner = kiosks[0] if kiosks else ""
                c.paired.set()
        elif kind == "call-ended":
            c.call_id, c.partner = "", ""
            c.ended.set()
        elif kind == "error" and msg.get("ref") is not None:
            c.ring_error = f"{msg.get('code')}: {msg.get('message', '')[:60]}"
            c.ended.set()
        elif kind == "ANSWER":
            verb = (msg.get("payload") or {}).get("verb")
            if verb == "accept":
                c.partner = msg.get("src", "")
                c.paired.set()
            else:
                c.partner = ""
                c.ended.set()

    def _send(self, c: Client, frame: str) -> None:
        """Fire and forget: a socket that closed meanwhile is the reader's business."""
        if c.ws is not None and not c.ws.closed:
            self._spawn(self._send_now(c.ws, frame))

    async def _send_now(self, ws: aiohttp.ClientWebSocketResponse, frame: str) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
            await ws.send_str(frame)

    # -- app pings ------------------------------------------------------------------------

    async def _ping_loop(self, interval_s: float) -> None:
        """Every client pings once per interval, the clients spread evenly over it."""
        tick = 0.1
        per_tick = max(1, math.ceil(len(self.clients) * tick / interval_s))
        index = random.randrange(max(1, len(self.clients)))
        while True:
            for _ in range(per_tick):
                c = self.clients[index % len(self.clients)]
                index += 1
                if c.ws is not None and not c.ws.closed:
                    c.ping_seq += 1
                    c.ping_sent_ns = stamp_ns()
                    for frame in dialects.ping_frames(self.proto, c.key, c.ping_seq):
                        self._send(c, frame)
            await asyncio.sleep(tick)

    # -- rings and relay ------------------------------------------------------------------

    async def rings(self, targets: list[str], duration_s: float) -> list[list[Any]]:
        """Ring ``targets`` evenly over ``duration_s`` through the staff sockets in turn."""
        staff = [c for c in self.clients if c.staff and c.ws is not None]
        start_ns = stamp_ns() + 200_000_000
        step_ns = duration_s * 1e9 / max(1, len(targets))
        records: list[list[Any]] = []

        async def one_caller(s: int) -> None:
            c = staff[s]
            for j in range(s, len(targets), len(staff)):
                records.append(await self._ring_one(c, targets[j], start_ns + int(j * step_ns), j))

        await asyncio.gather(*(one_caller(s) for s in range(len(staff))))
        return records

    async def _ring_one(self, c: Client, target: str, due_ns: int, seq: int) -> list[Any]:
        """[target, sent ns, late ms, outcome] of one ring, waiting for its end."""
        await asyncio.sleep(max(0.0, (due_ns - stamp_ns()) / 1e9))
        c.ended.clear()
        c.ring_error = ""
        sent = stamp_ns()
        self._send(c, dialects.ring_frame(self.proto, target, seq + 2))
        try:
            async with asyncio.timeout(RING_TIMEOUT_S):
                await c.ended.wait()
            outcome = c.ring_error or "ok"
        except TimeoutError:
            outcome = "timeout"
        return [target, sent, round((sent - due_ns) / 1e6, 2), outcome]

    async def held_calls(self, targets: list[str]) -> dict[str, Any]:
        """Staff socket i rings targets[i] until the tablet holds the call (a refused ring, say
        a busy database, is tried again a second later); held count and refusals."""
        staff = [c for c in self.clients if c.staff and c.ws is not None]
        refusals: Counter[str] = Counter()

        async def one(c: Client, target: str, seq: int) -> bool:
            for _ in range(HOLD_TRIES):
                if await self._hold_once(c, target, seq):
                    return True
                refusals[c.ring_error or "timeout"] += 1
                await asyncio.sleep(1.0)
            return False

        pairs = zip(staff, targets, strict=False)
        done = await asyncio.gather(*(one(c, t, i + 2) for i, (c, t) in enumerate(pairs)))
        return {"held": sum(done), "wanted": len(targets), "refusals": dict(refusals)}

    async def _hold_once(self, c: Client, target: str, seq: int) -> bool:
        c.partner, c.ring_error = "", ""
        c.paired.clear()
        c.ended.clear()
        self._send(c, dialects.ring_frame(self.proto, target, seq))
        waits = [asyncio.ensure_future(c.paired.wait()), asyncio.ensure_future(c.ended.wait())]
        await asyncio.wait(waits, timeout=RING_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        return bool(c.partner)

    async def relay(self, rate: float, duration_s: float, size: int) -> dict[str, Any]:
        """Each client holding a call sends ``rate`` timed messages per second to its partner."""
        self.relay_ms = []
        senders = [c for c in self.clients if c.partner]
        start = stamp_ns() + 100_000_000
        count = int(rate * duration_s)

        async def send_all(c: Client) -> int:
            kind = "answer" if c.staff else "offer"
            phase = random.random() / rate
            for k in range(count):
                due = start + int((phase + k / rate) * 1e9)
                await asyncio.sleep(max(0.0, (due - stamp_ns()) / 1e9))
                if c.ws is None or c.ws.closed:
                    return k
                sdp = dialects.fake_sdp(size, stamp_ns())
                await c.ws.send_str(
                    dialects.relay_frame(self.proto, kind, c.call_id, c.partner, sdp)
                )
            return count

        sent = await asyncio.gather(*(send_all(c) for c in senders))
        await asyncio.sleep(2.0)  # messages in flight arrive
        return {
            "senders": len(senders),
            "sent": sum(sent),
            "received": len(self.relay_ms),
            "latency_ms": _rounded(self.relay_ms),
        }

    # -- commands ---------------------------------------------------------------------------

    async def command(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Carry out one command; its reply."""
        name = cmd["cmd"]
        if name == "kiosks":
            clients = [Client(key, secret) for key, secret in cmd["clients"]]
            return await self.connect(clients)
        if name == "staff":
            clients = [Client(user, password, staff=True) for user, password in cmd["logins"]]
            if self.proto == "ours":
                async with asyncio.TaskGroup() as group:
                    for c in clients:
                        group.create_task(self.login(c))
            return await self.connect(clients)
        if name == "pings":
            if self.pinger is None and self.clients:
                self.pinger = asyncio.create_task(self._ping_loop(cmd["interval_s"]))
            return {}
        if name == "stats":
            return self._stats(cmd.get("reset", False))
        if name == "reconnect":
            self.reconnect, self.backoff = True, (cmd["backoff"][0], cmd["backoff"][1])
            self.failures.clear()
            return {}
        if name == "await_back":
            return await self._await_back(cmd["since_ns"], cmd["timeout_s"])
        if name == "hold":
            wanted = set(cmd["keys"])
            for c in self.clients:
                c.hold = c.key in wanted
            return {"holding": sum(c.hold for c in self.clients)}
        if name == "rings":
            return {"records": await self.rings(cmd["targets"], cmd["duration_s"])}
        if name == "held_calls":
            return await self.held_calls(cmd["targets"])
        if name == "ring_log":
            return {"received": self.ring_recv}
        if name == "relay":
            return await self.relay(cmd["rate"], cmd["duration_s"], cmd["size"])
        if name == "close":
            return await self._close_all()
        raise ValueError(f"unknown command {name!r}")

    def _stats(self, reset: bool) -> dict[str, Any]:
        held = sum(1 for c in self.clients if c.ws is not None and not c.ws.closed)
        reply = {
            "held": held,
            "clients": len(self.clients),
            "dropped": self.dropped,
            "failures": dict(self.failures),
            "rtt_ms": _rounded(self.rtts),
        }
        if reset:
            self.rtts = []
        return reply

    async def _await_back(self, since_ns: int, timeout_s: float) -> dict[str, Any]:
        """Wait until every client completed a handshake after ``since_ns`` (or the timeout)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                pending = self.clients
                while pending := [c for c in pending if c.back_ns <= since_ns or c.ws is None]:
                    self.came_back.clear()
                    await self.came_back.wait()
        back = [c.back_ns for c in self.clients if c.back_ns > since_ns and c.ws is not None]
        return {
            "back": len(back),
            "clients": len(self.clients),
            "last_back_ns": max(back, default=0),
            "failures": dict(self.failures),
        }

    async def _close_all(self) -> dict[str, Any]:
        self.reconnect = False
        if self.pinger is not None:
            self.pinger.cancel()
        sockets = [c.ws for c in self.clients if c.ws is not None]
        self.dropped -= len(sockets)  # closing them ourselves is no drop
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        return {"closed": len(sockets)}

    async def aclose(self) -> None:
        """Stop every task and the HTTP session."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for c in self.clients:
            if c.http is not None:
                await c.http.close()
        await self.session.close()


def _describe(exc: BaseException) -> str:
    """An exception for the orchestrator's error message (a group by its first members)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(sorted({_describe(e) for e in exc.exceptions}))
    return f"{type(exc).__name__}: {exc}"


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(v, 3) for v in values]


async def serve(args: argparse.Namespace) -> None:
    """Read commands from stdin until `quit` or end of input; one reply line per command."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker(args)
    try:
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["cmd"] == "quit":
                break
            try:
                reply = await worker.command(cmd)
            except Exception as exc:  # reported to the orchestrator, which fails the run
                reply = {"error": _describe(exc)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        await worker.aclose()


# -- the orchestrator's side --------------------------------------------------------------


class Fleet:
    """Worker processes of the load client, driven over their stdin and stdout."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def start(
        cls,
        count: int,
        proto: Proto,
        url: str,
        http: str,
        cpus: set[int],
        concurrency: int,
        first_ip: int = 10,
    ) -> Fleet:
        """``count`` workers for ``url`` (ws://host:port), each from its own source address."""
        procs = []
        for i in range(count):
            argv = [sys.executable, "-m", "bench.loadclient", "--proto", proto, "--url", url,
                    "--http", http, "--source-ip", f"127.0.0.{first_ip + i}",
                    "--concurrency", str(max(1, concurrency // count)),
                    "--cpus", ",".join(map(str, sorted(cpus)))]  # fmt: skip
            procs.append(
                await asyncio.create_subprocess_exec(
                    *argv,
                    cwd=PROJECT_DIR,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=READ_LIMIT,
                )  # fmt: skip
            )
        return cls(procs)

    async def ask(self, index: int, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send one command to one worker and read its reply."""
        proc = self.procs[index]
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        await proc.stdin.drain()
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load worker {index} exited (code {await proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"load worker {index}: {reply['error']}")
        return reply

    async def ask_all(self, cmds: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The same command (or one command each) to every worker, at once."""
        each = cmds if isinstance(cmds, list) else [cmds] * len(self.procs)
        return list(await asyncio.gather(*(self.ask(i, c) for i, c in enumerate(each))))

    async def connect_kiosks(self, tablets: Sequence[tuple[str, str]]) -> dict[str, int]:
        """Spread the tablets over the workers in equal slices; ok and failed counts."""
        size = math.ceil(len(tablets) / len(self.procs))
        slices = [list(tablets[i * size : (i + 1) * size]) for i in range(len(self.procs))]
        replies = await self.ask_all([{"cmd": "kiosks", "clients": s} for s in slices])
        return {"ok": sum(r["ok"] for r in replies), "failed": sum(r["failed"] for r in replies)}

    async def stop(self) -> None:
        """Ask every worker to quit; kill those that do not within 20 s."""
        for proc in self.procs:
            if proc.stdin is not None and proc.returncode is None:
                with contextlib.suppress(ConnectionError):
                    proc.stdin.write(b'{"cmd": "quit"}\n')
                    proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def workers_for(clients: int, per_worker: int = 5_000) -> int:
    """How many worker processes ``clients`` sockets need (each far below 20,000 files)."""
    return max(1, math.ceil(clients / per_worker))


def build_parser() -> argparse.ArgumentParser:
    """Options of one worker process."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadclient", description=__doc__)
    parser.add_argument("--proto", choices=("ours", "peerjs"), required=True)
    parser.add_argument("--url", required=True, help="ws://host:port of the server")
    parser.add_argument("--http", default="", help="http://host:port (staff login)")
    parser.add_argument("--source-ip", default="127.0.0.1")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes at once")
    parser.add_argument("--cpus", default="", help="pin to these cores, e.g. 1")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of one worker process."""
    args = build_parser().parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
