"""The screenvisit command run as a real process, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from server.sealing import new_key_line
from server.security import certificate_hostnames
from server.settings import Settings


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server`` with ``args``."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment pointing the CLI at a private SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
    env["SCREENVISIT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env["SCREENVISIT_SECRET_KEY"] = "cli-test-secret"
    keys = tmp_path / "data_keys"  # not the project's var/data_keys
    keys.write_text(new_key_line({})[1])
    env["SCREENVISIT_DATA_KEYS"] = str(keys)
    return env


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_migrate_seed_is_idempotent(cli_env: dict[str, str]) -> None:
    """migrate and seed-demo can run twice; the logins and kiosk URLs are printed each time."""
    for _ in range(2):
        assert run_cli("migrate", env=cli_env).returncode == 0
        seeded = run_cli("seed-demo", env=cli_env)
        assert seeded.returncode == 0, seeded.stderr
        assert "anna" in seeded.stdout and "/kiosk/#token=demo-" in seeded.stdout


def test_cli_keeps_the_database_private(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The SQLite file is 0600 when the CLI creates it, and made 0600 when it was not."""
    database = tmp_path / "cli.db"
    assert run_cli("migrate", env=cli_env).returncode == 0
    assert database.stat().st_mode & 0o777 == 0o600
    database.chmod(0o644)  # e.g. restored from a backup
    assert run_cli("migrate", env=cli_env).returncode == 0
    assert database.stat().st_mode & 0o777 == 0o600


def test_cli_seed_demo_leaves_out_revoked_tablets(cli_env: dict[str, str]) -> None:
    """A demo tablet revoked since the first run is not offered again by the next one."""
    import sqlite3

    assert run_cli("migrate", env=cli_env).returncode == 0
    first = run_cli("seed-demo", env=cli_env)
    assert first.returncode == 0 and "Karen Sørensen" in first.stdout
    path = cli_env["SCREENVISIT_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    db = sqlite3.connect(path)
    try:
        with db:  # commits
            db.execute(
                "UPDATE kiosk_device SET revoked_at = CURRENT_TIMESTAMP WHERE label = 'Tablet 01'"
            )
    finally:
        db.close()
    again = run_cli("seed-demo", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert "Karen Sørensen" not in again.stdout and "Poul Andersen" in again.stdout
    assert "1 demo tablets were revoked or replaced" in again.stdout


def test_cli_create_admin_then_login_page(cli_env: dict[str, str]) -> None:
    """create-admin refuses short passwords and creates an administrator otherwise."""
    assert run_cli("migrate", env=cli_env).returncode == 0
    short = run_cli("create-admin", "root", "--password-stdin", env=cli_env, stdin="short\n")
    assert short.returncode == 2 and "10 characters" in short.stderr
    made = run_cli(
        "create-admin", "root", "--password-stdin", env=cli_env, stdin="long-enough-pw\n"
    )
    assert made.returncode == 0, made.stderr


def test_cli_bad_setting_is_a_clear_error(cli_env: dict[str, str]) -> None:
    """A bad environment value stops the CLI with the key named, exit code 2."""
    result = run_cli("migrate", env={**cli_env, "SCREENVISIT_PORT": "x"})
    assert result.returncode == 2
    assert "SCREENVISIT_PORT='x'" in result.stderr and "Traceback" not in result.stderr


def test_cli_make_cert_and_serve_tls(cli_env: dict[str, str], tmp_path: Path) -> None:
    """make-cert writes a certificate for the names given; serve --tls-cert answers HTTPS."""
    out = tmp_path / "tls"
    made = run_cli("make-cert", "--out", str(out), "tablet.local", "127.0.0.1", env=cli_env)
    assert made.returncode == 0, made.stderr
    assert set(certificate_hostnames(out / "cert.pem")) == {"tablet.local", "127.0.0.1"}
    assert oct((out / "key.pem").stat().st_mode & 0o777) == "0o600"
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "serve",
            "--migrate",
            "--port",
            str(port),
            "--tls-cert",
            str(out / "cert.pem"),
            "--tls-key",
            str(out / "key.pem"),
        ],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_https(port, out / "cert.pem") == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def wait_https(port: int, cafile: Path) -> int:
    """Poll /healthz over HTTPS (trusting our own certificate) until it answers."""
    import ssl

    context = ssl.create_default_context(cafile=str(cafile))
    deadline = time.monotonic() + 20
    while True:
        try:
            url = f"https://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, context=context, timeout=2) as response:
                return int(response.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_cli_serve_port_moves_a_derived_public_url() -> None:
    """`serve --port 9000` serves (and accepts sockets from) localhost:9000, unless the public
    URL was set on purpose."""
    from server.cli import _serve_overrides, build_parser

    args = build_parser().parse_args(["serve", "--port", "9000"])
    derived = _serve_overrides(args, Settings())
    assert derived.public_url == "http://localhost:9000" and derived.port == 9000
    chosen = Settings(public_url="https://skaermbesoeg.example.dk")
    assert _serve_overrides(args, chosen).public_url == "https://skaermbesoeg.example.dk"
