"""Two real server processes behind a real nginx on loopback, over one PostgreSQL and one Redis.

Everything is a separate process, as in a deployment: `python -m server serve` per node, nginx
built from the deploy snippet (`deploy/nginx/screenvisit-proxy.conf`), and the tablet
(`tests.multinode.kiosk_process`). nginx routes tablets to node A (node B as `backup`) and staff
to node B (node A as `backup`), so a tablet and a nurse land on different nodes and each fails
over to the other node when its own dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from server.demo import demo_kiosk_token
from server.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROXY_SNIPPET = PROJECT_DIR / "deploy" / "nginx" / "screenvisit-proxy.conf"
SECRET = "multinode-test-secret"
START_S = 40.0  # a node's start on a busy 2-core machine (imports, migrations check, Redis)
LOG_TAIL = 4000

State = dict[str, Any]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_binary() -> str | None:
    """Debian's nginx, whether or not /usr/sbin is on PATH."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def read_log(path: Path) -> str:
    """A log file's text ("" while it does not exist)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def tail(path: Path) -> str:
    """The end of a log file, for a failure message."""
    return read_log(path)[-LOG_TAIL:] or "(empty)"


def node_env(database_url: str, redis_url: str, public_url: str, **extra: str) -> dict[str, str]:
    """A node's environment: this test's database and Redis db, the shared secret, no scheduler.

    Settings that this version of the server does not know are left out (``from_env`` rejects
    unknown names), so the harness can ask for settings that are still being added.
    """
    wanted = {
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": SECRET,
        "public_url": public_url,
        "trusted_proxies": "127.0.0.1",
        "log_json": "false",
        "log_level": "INFO",
        "scheduler_enabled": "false",  # background jobs would only add noise
        **extra,
    }
    known = {f.name for f in dataclasses.fields(Settings)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    env.update({f"SCREENVISIT_{k.upper()}": v for k, v in wanted.items() if k in known})
    return env


def tablet_token(citizen_index: int) -> str:
    """A demo tablet's device token (derived from the nodes' shared secret)."""
    return demo_kiosk_token(Settings(secret_key=SECRET), citizen_index)


def run_cli(env: dict[str, str], *args: str) -> None:
    """`python -m server …` to completion (migrate, seed-demo); its output only on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"server {args} failed:\n{done.stdout[-LOG_TAIL:]}{done.stderr}"


@dataclasses.dataclass
class Node:
    """One `python -m server serve` process."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Its own base URL (not through nginx)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """host:port, as an nginx upstream names it."""
        return f"127.0.0.1:{self.port}"

    def holds(self, peer_id: str) -> bool:
        """Whether this node has logged the socket of ``peer_id`` as connected to it."""
        return f"peer {peer_id} connected" in read_log(self.log)

    def kill(self) -> None:
        """SIGKILL: the node dies without ending anything (a crash, the OOM killer, power)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 15 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_node(name: str, port: int, env: dict[str, str], workdir: Path) -> Node:
    """Start a node on loopback; wait for it with `wait_ready`."""
    log = workdir / f"node-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=PROJECT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Node(name, port, log, process)


async def wait_ready(node: Node, http: aiohttp.ClientSession) -> None:
    """Poll /readyz (database and Redis reachable) until 200; fail with the log if it dies."""
    until = time.monotonic() + START_S
    while True:
        assert node.process.poll() is None, f"node {node.name} exited:\n{tail(node.log)}"
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(node.url + "/readyz") as response:
                if response.status == 200:
                    return
        assert time.monotonic() < until, f"node {node.name} not ready:\n{tail(node.log)}"
        await asyncio.sleep(0.2)


NGINX_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log notice;
events {{ worker_connections 512; }}
http {{
    log_format upstreams '$request_uri $status $upstream_addr';
    access_log {dir}/nginx-access.log upstreams;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    # Tablets on node A, staff on node B; each fails over to the other node.
    upstream tablets {{
        server 127.0.0.1:{a} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{b} backup;
    }}
    upstream staff {{
        server 127.0.0.1:{b} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{a} backup;
    }}
    server {{
        listen 127.0.0.1:{port};
        location /tablet/ {{
            proxy_pass http://tablets/;
            include {snippet};
        }}
        location /staff/ {{
            proxy_pass http://staff/;
            include {snippet};
        }}
    }}
}}
"""


def nginx_user_line() -> str:
    """Run the workers as the current user: as root nginx would switch them to `nobody`."""
    if os.geteuid() != 0:
        return ""  # the directive is ignored (with a warning) without root
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};"


@dataclasses.dataclass
class Nginx:
    """nginx in the foreground with everything (config, pid, logs, temp files) in one directory."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, location: str) -> str:
        """The base URL of one location (`tablet` or `staff`)."""
        return f"http://127.0.0.1:{self.port}/{location}"

    def stop(self) -> None:
        """SIGQUIT (graceful), SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nginx(binary: str, directory: Path, node_a: int, node_b: int) -> Nginx:
    """Write the test config and start nginx on a free loopback port."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user=nginx_user_line(),
            dir=directory,
            a=node_a,
            b=node_b,
            port=port,
            snippet=PROXY_SNIPPET,
        )
    )
    check = subprocess.run(
        [binary, "-t", "-q", "-e", "stderr", "-p", str(directory), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, f"nginx rejects the test config:\n{check.stderr}"
    with (directory / "nginx-stderr.log").open("wb") as out:
        process = subprocess.Popen(
            [binary, "-e", "stderr", "-p", str(directory), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Nginx(port, directory, process)


async def wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait until something accepts connections on the port."""
    until = time.monotonic() + 10
    while True:
        assert process.poll() is None, f"{what} exited"
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        assert time.monotonic() < until, f"{what} does not listen on {port}"
        await asyncio.sleep(0.05)


class KioskProcess:
    """The tablet process (`tests.multinode.kiosk_process`); follows the state it prints."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.state: State = {}
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name="kiosk-state")

    @classmethod
    async def start(cls, server_url: str, token: str, log: Path) -> KioskProcess:
        """Start the tablet against ``server_url`` (here nginx's tablet location)."""
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.multinode.kiosk_process",
                "--server", server_url, "--token", token,
                cwd=PROJECT_DIR, stdout=asyncio.subprocess.PIPE, stderr=err,
            )  # fmt: skip
        return cls(process, log)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.state = json.loads(line)
            self._changed.set()
        self._changed.set()

    async def until(self, check: Callable[[State], bool], what: str, wait_s: float) -> State:
        """Wait until the tablet's state satisfies ``check``; that state."""
        try:
            async with asyncio.timeout(wait_s):
                while not check(self.state):
                    assert self.process.returncode is None, f"the tablet exited:\n{tail(self.log)}"
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"tablet: {what} (state {self.state})") from None
        return self.state

    def video_from(self, peer_id: str) -> int:
        """Video frames decoded from one peer on the current link (0 without a link)."""
        link = self.state.get("links", {}).get(peer_id)
        return int(link["video"]) if link else 0

    async def stop(self) -> int | None:
        """SIGTERM and wait; the exit status."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            async with asyncio.timeout(15):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self._reader
        return self.process.returncode
