"""The ``screenvisit`` command: serve, migrate, seed-demo, create-admin, set-password,
make-cert, audit, purge, keys."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from .settings import PROJECT_DIR, Settings, SettingsError

if TYPE_CHECKING:
    from .scheduling.retention import Limits
    from .sealing import Keyring

logger = logging.getLogger(__name__)
SECRET_FILE = PROJECT_DIR / "var" / "secret_key"
DATA_KEYS_FILE = PROJECT_DIR / "var" / "data_keys"


def build_parser() -> argparse.ArgumentParser:
    """Arguments of every sub-command."""
    parser = argparse.ArgumentParser(prog="screenvisit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", help="listen address (default from settings)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate: serve HTTPS")
    serve.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed-demo", help="load demo data (once) and print the logins")
    seed.add_argument("--force", action="store_true", help="seed even if data exists")
    admin = sub.add_parser("create-admin", help="create an administrator")
    admin.add_argument("username")
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--organisation", default="demo", help="organisation slug")
    admin.add_argument("--password-stdin", action="store_true", help="read password from stdin")
    reset = sub.add_parser("set-password", help="set a staff member's password; ends her sessions")
    reset.add_argument("username")
    reset.add_argument("--organisation", default="demo", help="organisation slug")
    reset.add_argument("--password-stdin", action="store_true", help="read password from stdin")
    cert = sub.add_parser("make-cert", help="write a self-signed TLS certificate")
    cert.add_argument("--out", type=Path, default=PROJECT_DIR / "var" / "tls")
    cert.add_argument("hostnames", nargs="*", default=["localhost", "127.0.0.1"])
    audit = sub.add_parser("audit", help="check the audit log's hash chains")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="walk every chain; non-zero at the first fault")
    verify.add_argument("--organisation", help="only this organisation's chain (slug)")
    purge = sub.add_parser("purge", help="delete what the RETENTION_* settings no longer keep")
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    keys = sub.add_parser("keys", help="the data keys that seal free-text health data")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("new", help="add a data key to the key file and make it the active one")
    rotate = keys_sub.add_parser("rotate", help="re-seal every value under the active key")
    rotate.add_argument("--batch", type=int, default=500, help="values per transaction")
    return parser


def load_settings(environ: dict[str, str]) -> Settings:
    """Settings from the environment; a persisted secret key when none is configured."""
    settings = Settings.from_env(environ)
    if "SCREENVISIT_SECRET_KEY" not in environ:
        settings = dataclasses.replace(settings, secret_key=_persisted_secret())
    if "SCREENVISIT_DATA_KEYS" not in environ:
        settings = dataclasses.replace(settings, data_keys=str(_persisted_data_keys()))
    return settings


def _persisted_data_keys() -> Path:
    # Like the secret: the demo and a first `make run` get a key file of their own (0600).
    from .sealing import new_key_line

    if not DATA_KEYS_FILE.exists():
        DATA_KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
        DATA_KEYS_FILE.touch(mode=0o600)
        DATA_KEYS_FILE.write_text(new_key_line({})[1])
    return DATA_KEYS_FILE


def _persisted_secret() -> str:
    # Sessions and demo kiosk tokens must survive a restart of `make run`.
    from .security import new_token

    if not SECRET_FILE.exists():
        SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        SECRET_FILE.touch(mode=0o600)
        SECRET_FILE.write_text(new_token(32))
    return SECRET_FILE.read_text().strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m server`` and the ``screenvisit`` script."""
    args = build_parser().parse_args(argv)
    # Health data: every file and directory this process creates (the SQLite database and its
    # journal, the secret, certificates) is readable by its owner only.
    os.umask(0o077)
    try:
        settings = load_settings(dict(os.environ))
    except SettingsError as exc:
        print(f"screenvisit: {exc}", file=sys.stderr)
        return 2
    from .logs import configure_logging

    configure_logging(settings)
    from .db import restrict_sqlite_files

    restrict_sqlite_files(settings.database_url)
    return COMMANDS[args.command](args, settings)


# Connections waiting to be accepted: after a restart thousands of tablets (or nginx on their
# behalf) reconnect at once, and aiohttp's default of 128 turns the rest away (nginx: 502).
# The kernel caps it at net.core.somaxconn (4096 on Debian 12).
LISTEN_BACKLOG = 4096


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the server until interrupted."""
    from .app import create_app

    settings = _serve_overrides(args, settings)
    if args.migrate:  # Alembic is imported only then: a restart under tablets starts sooner
        from .migrate import upgrade

        asyncio.run(upgrade(settings.database_url, keyring=_keyring(settings)))
    if (problem := asyncio.run(_data_keys_problem(settings))) is not None:
        print(f"screenvisit: {problem}", file=sys.stderr)
        return 2
    context = _tls_context(settings)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=context,
        backlog=LISTEN_BACKLOG,
        access_log=None,
        print=lambda _msg: print(f"screenvisit serving on {settings.public_url}", flush=True),
    )
    return 0


def _serve_overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    changes = {
        name: value
        for name in ("host", "port", "tls_cert", "tls_key")
        if (value := getattr(args, name)) is not None
    }
    if "port" in changes and settings.public_url == f"http://localhost:{settings.port}":
        # The public URL was only derived from the port: follow --port, or the consoles' own
        # origin (localhost:<port>) would be refused on the signalling socket.
        changes["public_url"] = f"http://localhost:{changes['port']}"
    return dataclasses.replace(settings, **changes)


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls_cert is None:
        return None
    if settings.tls_key is None:
        raise SystemExit("screenvisit: --tls-cert needs --tls-key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply every pending migration."""
    from .migrate import upgrade

    asyncio.run(upgrade(settings.database_url, keyring=_keyring(settings)))
    print("database is up to date")
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Seed the demo organisation unless it exists, then print where to log in."""
    from .demo import DEMO_SLUG, live_demo_tablets, print_demo_access, seed_demo
    from .demo_day import lay_out_demo_day
    from .demo_history import WEEKS, lay_out_demo_history

    asyncio.run(seed_demo(settings, force=args.force))
    keyring = _keyring(settings)
    url = settings.database_url
    past = asyncio.run(lay_out_demo_history(url, DEMO_SLUG, settings.zone, keyring))
    added = asyncio.run(lay_out_demo_day(url, DEMO_SLUG, keyring))
    asyncio.run(_rotate(settings, 500))  # the demo's notes and agreements, sealed
    print_demo_access(settings, asyncio.run(live_demo_tablets(settings)))
    if past:
        print(f"  {past} screen visits of the last {WEEKS} weeks added: see Nøgletal (/figures).")
    if added:
        print(f"  {added} visits laid out around now: each nurse has one due in a few minutes.")
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    """A password typed twice (or one line of stdin); None (said why) when unusable."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("screenvisit: passwords differ", file=sys.stderr)
            return None
    if len(password) < 10:
        print("screenvisit: use at least 10 characters", file=sys.stderr)
        return None
    return password


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Create an administrator with a password typed twice (or from stdin)."""
    from .demo import create_admin

    if (password := _read_password(args)) is None:
        return 2
    asyncio.run(create_admin(settings, args.organisation, args.username, args.name, password))
    print(f"administrator {args.username!r} created")
    return 0


def cmd_set_password(args: argparse.Namespace, settings: Settings) -> int:
    """Set a staff member's password (typed twice, or from stdin); end all their sessions."""
    if (password := _read_password(args)) is None:
        return 2
    if not asyncio.run(
        set_password(settings.database_url, args.organisation, args.username, password)
    ):
        print(f"screenvisit: no {args.username!r} in {args.organisation!r}", file=sys.stderr)
        return 2
    print(f"password of {args.username!r} set; every session of {args.username!r} is ended")
    return 0


async def set_password(database_url: str, org_slug: str, username: str, password: str) -> bool:
    """The password change behind ``set-password``; False when there is no such person."""
    from sqlalchemy import select

    from .auth.sessions import change_password
    from .db import make_engine, make_sessionmaker
    from .models import Organisation, Staff
    from .security import hash_password

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            staff = await session.scalar(
                select(Staff)
                .join(Organisation, Organisation.id == Staff.organisation_id)
                .where(Organisation.slug == org_slug, Staff.username == username)
            )
            if staff is None:
                return False
            await change_password(session, staff, hash_password(password))
    finally:
        await engine.dispose()
    return True


def cmd_make_cert(args: argparse.Namespace, settings: Settings) -> int:
    """Write cert.pem and key.pem for serving HTTPS on a LAN (tablets need it for the camera)."""
    from .security import make_self_signed_cert

    files = make_self_signed_cert(args.out, list(args.hostnames))
    print(f"certificate: {files.cert}\nprivate key: {files.key}")
    print(f"serve with: screenvisit serve --tls-cert {files.cert} --tls-key {files.key}")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """``audit verify``: walk the hash chains, name the first bad event of each."""
    return asyncio.run(_audit_verify(settings.database_url, args.organisation))


async def _audit_verify(database_url: str, slug: str | None) -> int:
    from sqlalchemy import select

    from .audit import verify
    from .db import make_engine, make_sessionmaker
    from .models import Organisation

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            org_id = None
            if slug is not None:
                org_id = await session.scalar(
                    select(Organisation.id).where(Organisation.slug == slug)
                )
                if org_id is None:
                    print(f"screenvisit: no organisation {slug!r}", file=sys.stderr)
                    return 2
            reports = await verify(session, org_id)
    finally:
        await engine.dispose()
    total = sum(r.events for r in reports)
    bad = [r for r in reports if r.problem]
    for report in bad:
        print(f"audit chain {report.name}: {report.problem}", file=sys.stderr)
    if bad:
        print(f"{total} events, {len(bad)} of {len(reports)} chains broken", file=sys.stderr)
        return 1
    print(f"{total} events, chains intact")
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    """``purge [--dry-run]``: run the retention purge once, now, and say what it removed."""
    from .scheduling.retention import Limits

    limits = Limits.of(settings)
    if not limits.any():
        print("screenvisit: no RETENTION_* limit is set; everything is kept")
        return 0
    lines = asyncio.run(_purge(settings.database_url, limits, args.dry_run))
    print(("would delete " if args.dry_run else "deleted ") + ", ".join(lines))
    return 0


async def _purge(database_url: str, limits: Limits, dry_run: bool) -> list[str]:
    from .db import make_engine, make_sessionmaker
    from .models import utcnow
    from .scheduling.retention import run

    engine = make_engine(database_url)
    try:
        report = await run(make_sessionmaker(engine), limits, utcnow(), dry_run=dry_run)
    finally:
        await engine.dispose()
    return report.lines()


def _keyring(settings: Settings) -> Keyring:
    from .sealing import KeyringError, settings_keyring

    try:
        return settings_keyring(settings)
    except KeyringError as exc:
        raise SystemExit(f"screenvisit: {exc}") from None


async def _data_keys_problem(settings: Settings) -> str | None:
    """Why the server must not start with these data keys (sealed values it cannot open)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine
    from .rekey import missing_keys

    keyring = _keyring(settings)
    engine = make_engine(settings.database_url)
    try:
        missing = await missing_keys(engine, keyring)
    except SQLAlchemyError as exc:
        # The server starts without its database (/readyz says so until it returns) or before
        # the first migration; the keys are checked again at the next start.
        print(f"screenvisit: data keys not checked ({type(exc).__name__})", file=sys.stderr)
        return None
    finally:
        await engine.dispose()
    if not missing:
        return None
    return (
        f"stored values are sealed under data key(s) {', '.join(missing)}, which "
        "SCREENVISIT_DATA_KEYS does not hold; add them back (see README: data keys)"
    )


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """``keys new`` adds a key and makes it active; ``keys rotate`` re-seals under it."""
    if args.keys_command == "new":
        return _new_key(settings)
    return asyncio.run(_rotate(settings, args.batch))


def _new_key(settings: Settings) -> int:
    from .sealing import KeyringError, new_key_line, parse_keys

    source = settings.data_keys or ""
    path = Path(source).expanduser()
    if not path.is_file() and (":" in source or not path.parent.is_dir()):
        print("screenvisit: SCREENVISIT_DATA_KEYS names no key file; add a key to it by hand")
        return 2
    try:  # a new, empty file is the usual start: its first key
        existing = parse_keys(path.read_text()) if path.is_file() else {}
    except (KeyringError, OSError) as exc:
        print(f"screenvisit: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    key_id, line = new_key_line(existing)
    with open(path, "a", opener=_private) as file:  # the last key in the file is the active one
        file.write(line)
    path.chmod(0o600)
    print(f"data key {key_id!r} added to {path} and active for new values")
    if settings.data_key_active is not None:
        print(f"note: SCREENVISIT_DATA_KEY_ACTIVE={settings.data_key_active} still pins the key")
    print("restart the servers, then run `screenvisit keys rotate` to re-seal older values")
    return 0


def _private(path: str, flags: int) -> int:
    """Open a key file created 0600 (never readable by others, not even for a moment)."""
    return os.open(path, flags, 0o600)


async def _rotate(settings: Settings, batch: int) -> int:
    from .db import make_engine
    from .rekey import key_ids_in_use, rotate

    keyring = _keyring(settings)
    if (problem := await _data_keys_problem(settings)) is not None:
        print(f"screenvisit: {problem}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        report = await rotate(engine, keyring, batch=batch)
        in_use = await key_ids_in_use(engine)
    finally:
        await engine.dispose()
    print(
        f"sealed {report.sealed} plaintext values, re-sealed {report.resealed}, "
        f"{report.current} already under {keyring.active!r}, "
        f"{report.changed_meanwhile} changed meanwhile"
    )
    unused = sorted(set(keyring.keys) - set(in_use))
    if unused:
        print(f"no stored value uses key(s) {', '.join(unused)}: they can be removed")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "seed-demo": cmd_seed_demo,
    "create-admin": cmd_create_admin,
    "set-password": cmd_set_password,
    "make-cert": cmd_make_cert,
    "audit": cmd_audit,
    "purge": cmd_purge,
    "keys": cmd_keys,
}
