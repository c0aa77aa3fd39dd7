"""Typed settings, built once from the environment (prefix ``SCREENVISIT_``) and passed in."""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "SCREENVISIT_"
PROJECT_DIR = Path(__file__).resolve().parent.parent

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or cannot be read; the message names the key and the value."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def _networks(value: str) -> tuple[str, ...]:
    """Addresses or CIDR networks, each checked now so a typo fails at start-up."""
    items = _split(value)
    for item in items:
        ipaddress.ip_network(item, strict=False)
    return items


def _zone(value: str) -> str:
    """An IANA time zone name, checked now so a typo fails at start-up."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Europe/Copenhagen") from None
    return value


def _sms_adapter(value: str) -> str:
    if value not in {"log", "none"}:
        raise ValueError("expected log or none")
    return value


def _path(value: str) -> Path:
    return Path(value).expanduser()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. Field names map to ``SCREENVISIT_<NAME>`` environment variables."""

    database_url: str = f"sqlite+aiosqlite:///{PROJECT_DIR / 'var' / 'screenvisit.db'}"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Keys that seal free-text health data (server/sealing.py): a file of "<id>:<base64>" lines
    # or those entries inline; the last (or DATA_KEY_ACTIVE) seals new values. Unset in code
    # (tests): a fixed development key; the command line always keeps a file (var/data_keys).
    data_keys: str | None = field(default=None, repr=False)
    data_key_active: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://localhost:8080"
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    redis_url: str | None = None  # set: this process is one node of several (signaling.cluster)
    node_heartbeat_s: float = 2.0  # how often a node says it lives, with its load
    node_expiry_s: float = 6.0  # a node silent this long is dead: others sweep it
    # /metrics: with a token, scrapers send "Authorization: Bearer <token>"; without one, only
    # clients on this machine (loopback, after a trusted proxy's X-Forwarded-For) may read it.
    metrics_token: str | None = field(default=None, repr=False)
    log_json: bool = False
    log_level: str = "INFO"
    web_dir: Path = PROJECT_DIR / "web"
    kiosk_dir: Path = PROJECT_DIR / "kiosk"
    session_hours: int = 12
    # A staff session with no request (and no open console socket) for this long ends; 0: never.
    session_idle_minutes: int = 30
    feed_days: int = 180  # a calendar feed URL stops working this many days after it is made
    login_delay_after: int = 3
    login_lockout_after: int = 10
    login_lockout_minutes: int = 15
    # Delays (never locks) for guesses from one address across usernames, and for one username
    # from many addresses: see server/auth/throttle.py.
    login_address_delay_after: int = 20
    login_account_delay_after: int = 10
    max_body_kb: int = 256
    ring_timeout_s: int = 45
    auto_answer_after_s: int = 10
    reconnect_grace_s: int = 30
    guest_denied_s: int = 600  # after a host's deny, that invite may not knock again for this long
    call_lease_s: float = 30.0  # a live call's lease, renewed every third of it by its process
    max_call_participants: int = 6
    ws_heartbeat_s: float = 20.0
    ws_auth_deadline_s: float = 10.0
    ws_max_msg_kb: int = 64
    signaling_timing: bool = False  # log the server time of each signalling message (bench)
    last_seen_flush_s: float = 1.0  # how often tablets' last-seen times are written (one batch)
    # Who a tablet's token is and a staff member's photo, once looked up, are kept this long.
    handshake_cache_s: float = 30.0
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout_s: float = 5.0  # wait this long for a connection, then 503 / try_again
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl_s: int = 3600
    timezone: str = "Europe/Copenhagen"
    selftest_lead_min: int = 10
    selftest_max_concurrent: int = 4
    scheduler_enabled: bool = True
    scheduling_horizon_days: int = 14
    scheduling_generate_interval_s: float = 3600.0
    scheduling_tick_interval_s: float = 30.0
    readiness_lead_min: int = 30
    physical_outcome_grace_min: int = 120
    missed_task_due_min: int = 120
    # Retention (scheduling/retention.py): days kept; 0 keeps for good. Checked hourly.
    retention_call_days: int = 0
    retention_observation_days: int = 0
    retention_audit_days: int = 0
    retention_interval_s: float = 3600.0
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str = "screenvisit@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    notices_interval_s: float = 30.0  # how often reminders and change notices are worked out
    kiosk_poll_s: float = 30.0  # how often an idle tablet fetches its facts and notices
    sms_adapter: str = "log"  # "log" (the demo: logged, number masked) or "none"

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone: the one source of local dates and wall-clock times."""
        return ZoneInfo(self.timezone)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` whenever the public URL or the listener speaks TLS."""
        return self.public_url.startswith("https://") or self.tls_cert is not None

    @property
    def origins(self) -> frozenset[str]:
        """Origins allowed to open the signalling socket: the public URL plus the extra list."""
        return frozenset({self.public_url.rstrip("/"), *self.allowed_origins})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``SCREENVISIT_*`` variables; unknown ones are an error so typos do not pass."""
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in environ.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name not in known:
                raise SettingsError(f"Unknown setting {key!r}")
            values[name] = _cast(key, raw, _CASTS.get(name, str))
        if "port" in values and "public_url" not in values:
            values["public_url"] = f"http://localhost:{values['port']}"
        return cls(**values)


def _cast(key: str, raw: str, cast: Callable[[str], T]) -> T:
    try:
        return cast(raw)
    except ValueError as exc:
        raise SettingsError(f"Setting {key}={raw!r} is not valid: {exc}") from None


def _optional_path(value: str) -> Path | None:
    return _path(value) if value else None


_CASTS: dict[str, Callable[[str], Any]] = {
    "port": int,
    "allowed_origins": _split,
    "trusted_proxies": _networks,
    "tls_cert": _optional_path,
    "tls_key": _optional_path,
    "redis_url": lambda v: v or None,
    "node_heartbeat_s": float,
    "node_expiry_s": float,
    "metrics_token": lambda v: v or None,
    "log_json": _bool,
    "web_dir": _path,
    "kiosk_dir": _path,
    "session_hours": int,
    "session_idle_minutes": int,
    "feed_days": int,
    "data_keys": lambda v: v or None,
    "data_key_active": lambda v: v or None,
    "login_delay_after": int,
    "login_lockout_after": int,
    "login_lockout_minutes": int,
    "login_address_delay_after": int,
    "login_account_delay_after": int,
    "max_body_kb": int,
    "ring_timeout_s": int,
    "auto_answer_after_s": int,
    "reconnect_grace_s": int,
    "guest_denied_s": int,
    "call_lease_s": float,
    "max_call_participants": int,
    "ws_heartbeat_s": float,
    "ws_auth_deadline_s": float,
    "ws_max_msg_kb": int,
    "signaling_timing": _bool,
    "last_seen_flush_s": float,
    "handshake_cache_s": float,
    "db_pool_size": int,
    "db_max_overflow": int,
    "db_pool_timeout_s": float,
    "stun_urls": _split,
    "turn_urls": _split,
    "turn_secret": lambda v: v or None,
    "turn_ttl_s": int,
    "scheduler_enabled": _bool,
    "scheduling_horizon_days": int,
    "scheduling_generate_interval_s": float,
    "scheduling_tick_interval_s": float,
    "retention_call_days": int,
    "retention_observation_days": int,
    "retention_audit_days": int,
    "retention_interval_s": float,
    "readiness_lead_min": int,
    "physical_outcome_grace_min": int,
    "missed_task_due_min": int,
    "smtp_host": lambda v: v or None,
    "smtp_port": int,
    "smtp_user": lambda v: v or None,
    "smtp_password": lambda v: v or None,
    "smtp_starttls": _bool,
    "notices_interval_s": float,
    "kiosk_poll_s": float,
    "sms_adapter": _sms_adapter,
    "timezone": _zone,
}
