"""The server's logs of a whole call, at INFO and at DEBUG, hold no secret.

The server's own logging set-up (``configure_logging``) is used as production uses it, and
every record of the server's loggers (``server.*``, aiohttp's server side, SQLAlchemy) is
formatted as the JSON formatter would write it, extras and tracebacks included. Above DEBUG no
record may carry SDP (addresses, ICE passwords, DTLS fingerprints); at no level may one carry
the session cookie, the tablet's token, the CSRF token, a password, the secret key or a data
key. (The house rules allow SDP at DEBUG: it is how a call is debugged.)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kiosk.caller import SESSION_COOKIE
from server.demo import DEMO_PASSWORD, demo_kiosk_token
from server.logs import JSONFormatter, configure_logging
from server.sealing import settings_keyring
from server.settings import Settings
from tests.signaling.test_webrtc_e2e import (
    KAREN,
    KAREN_ID,
    WAIT_S,
    all_gone,
    kiosk_agent,
    staff,
    within,
)

pytestmark = pytest.mark.usefixtures("loopback_only_ice")

SDP_MARKERS = ("v=0", "a=fingerprint", "a=ice-ufrag", "a=ice-pwd")
# The server's side of the process: the clients (kiosk agent, staff caller, aiortc) run in
# this process too, and what they log is not the server's log.
SERVER_LOGGERS = ("server", "aiohttp.server", "aiohttp.web", "aiohttp.access", "sqlalchemy")


class Capture(logging.Handler):
    """Every record of the server's loggers, formatted as the JSON log would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []
        self.formatter_ = JSONFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] == "server" or record.name.startswith(SERVER_LOGGERS):
            self.lines.append((record.levelno, self.formatter_.format(record)))


@contextlib.contextmanager
def server_logging(settings: Settings) -> Iterator[Capture]:
    """The server's real logging set-up at ``settings.log_level``, captured; undone after."""
    root = logging.getLogger()
    names = ("aioice", "aiortc", "alembic.runtime.plugins")
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in names})
    configure_logging(settings)
    capture = Capture()
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def secrets_of(settings: Settings, cookie: str, csrf: str) -> dict[str, str]:
    """Every secret of the call, by name, as it could appear in a log line."""
    found = {
        "session cookie": cookie,
        "tablet token": demo_kiosk_token(settings, KAREN),
        "csrf token": csrf,
        "password": DEMO_PASSWORD,
        "secret key": settings.secret_key,
    }
    for key_id, key in settings_keyring(settings).keys.items():
        found[f"data key {key_id} (base64)"] = base64.b64encode(key).decode()
        found[f"data key {key_id} (hex)"] = key.hex()
    return found


async def _one_call(server: TestServer, settings: Settings) -> tuple[str, str]:
    """Ring, answer (offer, answer, ICE), see video, hang up; the nurse's cookie and CSRF."""
    async with kiosk_agent(server, settings) as agent, staff(server, "anna") as nurse:
        cookie = next(c.value for c in nurse.http.cookie_jar if c.key == SESSION_COOKIE)
        async with nurse.http.get(nurse.server_url + "/") as page:
            html = await page.text()
        csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
        await nurse.ring(KAREN_ID)
        call = await asyncio.wait_for(nurse.wait_call(), WAIT_S)
        await within(call.peers.wait_video(1))
        await nurse.hangup()
        await within(agent.ended.wait())
    return cookie, csrf


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_a_calls_logs_hold_no_secret(
    server: TestServer, signaling_settings: Settings, app: web.Application, level: str
) -> None:
    """A full call logged at INFO has no SDP above DEBUG; at DEBUG too no token, cookie,
    password or key appears at any level."""
    settings = dataclasses.replace(signaling_settings, log_level=level)
    with server_logging(settings) as capture:
        cookie, csrf = await _one_call(server, signaling_settings)
        await all_gone(app)
    assert capture.lines, "the call logged nothing: the capture is not attached"
    secrets = secrets_of(signaling_settings, cookie, csrf)
    for levelno, line in capture.lines:
        for name, value in secrets.items():
            assert value not in line, f"{name} logged at {logging.getLevelName(levelno)}: {line}"
        if levelno > logging.DEBUG:
            for marker in SDP_MARKERS:
                assert marker not in line, f"SDP ({marker}) logged above DEBUG: {line}"
