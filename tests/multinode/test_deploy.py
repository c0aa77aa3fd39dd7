"""The reference deployment's files work as written: the env example names only real settings;
the nginx site config, run for real in front of two nodes, redirects HTTP to HTTPS, terminates
TLS and carries the signalling WebSocket; the backup script's dump is encrypted and restores."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from server.security import make_self_signed_cert
from server.settings import Settings
from tests import databases
from tests.multinode.conftest import Cluster, admin
from tests.multinode.harness import (
    PROJECT_DIR,
    PROXY_SNIPPET,
    free_port,
    nginx_user_line,
    tablet_token,
)

DEPLOY = PROJECT_DIR / "deploy"
SITE = DEPLOY / "nginx" / "screenvisit.conf"
BACKUP = DEPLOY / "screenvisit-backup"
SETTING = re.compile(r"^#?(SCREENVISIT_[A-Z0-9_]+)=(.*)$")


def test_env_example_names_only_real_settings() -> None:
    """Every SCREENVISIT_ line of the example, commented or not, is a setting `serve` accepts,
    and the example's values parse; the multi-node essentials are set, not commented."""
    lines = (DEPLOY / "screenvisit.env.example").read_text().splitlines()
    found = [m for line in lines if (m := SETTING.match(line))]
    known = {f.name for f in dataclasses.fields(Settings)}
    names = {m.group(1) for m in found}
    assert {n.removeprefix("SCREENVISIT_").lower() for n in names} <= known
    Settings.from_env({m.group(1): m.group(2) or "x" for m in found})
    active = {line.split("=", 1)[0] for line in lines if line.startswith("SCREENVISIT_")}
    essentials = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "TRUSTED_PROXIES"}
    assert {f"SCREENVISIT_{name}" for name in essentials} <= active


@dataclasses.dataclass
class Site:
    """nginx running deploy/nginx/screenvisit.conf on loopback ports."""

    http_port: int
    https_port: int
    cert: Path


def site_config(cluster: Cluster, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """The site file with only what a machine changes: ports, certificate, the nodes."""
    text = SITE.read_text()
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    text = text.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ")
    text = re.sub(r"ssl_certificate (\s*)\S+;", f"ssl_certificate \\g<1>{cert};", text)
    text = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", text)
    nodes = f"server {cluster.a.address};\n    server {cluster.b.address};"
    text, count = re.subn(
        r"server 127\.0\.0\.1:808\d[^;]*;(\s*server 127\.0\.0\.1:808\d[^;]*;)*", nodes, text
    )
    assert count == 1, "the upstream's node list changed shape"
    return text


@pytest.fixture
def site(cluster: Cluster, nginx_path: str, tmp_path: Path) -> Iterator[Site]:
    """The site config in front of the cluster's two nodes, with a self-signed certificate."""
    directory = tmp_path / "site"
    (directory / "snippets").mkdir(parents=True)
    (directory / "snippets" / PROXY_SNIPPET.name).write_text(PROXY_SNIPPET.read_text())
    files = make_self_signed_cert(directory / "tls", ["127.0.0.1"])
    http_port, https_port = free_port(), free_port()
    (directory / "site.conf").write_text(
        site_config(cluster, http_port, https_port, files.cert, files.key)
    )
    temp = " ".join(f"{kind}_temp_path {directory}/{kind};" for kind in ("client_body", "proxy"))
    (directory / "nginx.conf").write_text(
        f"{nginx_user_line()}\nworker_processes 1;\ndaemon off;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {directory}/site.conf; }}\n"
    )
    args = [nginx_path, "-e", "stderr", "-p", f"{directory}/", "-c", str(directory / "nginx.conf")]
    check = subprocess.run([*args, "-t", "-q"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    try:
        yield Site(http_port, https_port, files.cert)
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.postgres
async def test_site_config_redirects_terminates_tls_and_carries_websockets(
    site: Site, cluster: Cluster
) -> None:
    """HTTP answers 301 to HTTPS; over TLS (our certificate) a page comes back `no-store`, a
    static file cacheable, and a tablet's socket is upgraded and welcomed by a node."""
    tls = ssl.create_default_context(cafile=str(site.cert))
    base = f"https://127.0.0.1:{site.https_port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(50):  # nginx needs a moment to listen
            try:
                async with http.get(
                    f"http://127.0.0.1:{site.http_port}/login?next=/", allow_redirects=False
                ) as response:
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        assert response.status == 301
        assert response.headers["Location"] == "https://127.0.0.1/login?next=/"
        async with http.get(base + "/login", ssl=tls) as response:
            assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        async with http.get(base + "/static/css/app.css", ssl=tls) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"].startswith("public, max-age=")
        async with http.ws_connect(base.replace("https", "wss") + "/ws", ssl=tls) as ws:
            await ws.send_json(
                {"type": "hello", "id": 1, "version": ["1"], "token": tablet_token(0)}
            )
            welcome = await ws.receive_json(timeout=10)
    assert welcome["type"] == "welcome" and welcome["identity"]["kind"] == "kiosk"


def tool(name: str) -> str:
    """A command-line tool the backup needs (scripts/test installs them)."""
    path = shutil.which(name)
    if path is None:
        databases.missing_service(name)
    assert path is not None
    return path


def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    """Run a command to completion; its stdout, or a failure with its stderr."""
    done = subprocess.run(args, env=env, input=stdin, capture_output=True, timeout=120)
    assert done.returncode == 0, f"{args[0]}: {done.stderr.decode(errors='replace')}"
    return done.stdout


async def count_citizens(url: str) -> int:
    """Rows in the citizen table of a database."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=5)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM citizen"))
    finally:
        await conn.close()


@pytest.mark.postgres
def test_backup_writes_an_encrypted_dump_that_restores(multinode_db: str, tmp_path: Path) -> None:
    """deploy/screenvisit-backup writes one gpg-encrypted pg_dump (nothing in clear on disk) that
    decrypts and restores into an empty database; without a key it refuses and writes nothing."""
    for name in ("pg_dump", "pg_restore", "gpg"):
        tool(name)
    home, out = tmp_path / "gnupg", tmp_path / "backups"
    home.mkdir(mode=0o700)
    out.mkdir()
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    run(*gpg, "--passphrase", "", "--quick-gen-key", "backup@test", "default", "default", "never")
    key = tmp_path / "backup-key.asc"
    key.write_bytes(run(*gpg, "--armor", "--export", "backup@test"))
    env = {**os.environ, "SCREENVISIT_DATABASE_URL": multinode_db, "BACKUP_DIR": str(out)}

    refused = subprocess.run([str(BACKUP)], env=env, capture_output=True, timeout=60)
    assert refused.returncode != 0 and not list(out.iterdir())
    run(str(BACKUP), env={**env, "BACKUP_GPG_KEY_FILE": str(key)})
    (dump,) = out.iterdir()
    assert dump.name.endswith(".dump.gpg") and b"citizen" not in dump.read_bytes()

    restored = f"sv_restored_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(f"CREATE DATABASE {restored}"))
    try:
        plain = run(*gpg, "--decrypt", str(dump))
        url = databases.pg_url(restored).replace("+asyncpg", "")
        run("pg_restore", "--no-owner", f"--dbname={url}", stdin=plain)
        before, after = (asyncio.run(count_citizens(u)) for u in (multinode_db, url))
        assert before == after > 0
    finally:
        asyncio.run(databases.drop_pg(restored))
        # gpg started an agent for this home: it must not outlive the test.
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
