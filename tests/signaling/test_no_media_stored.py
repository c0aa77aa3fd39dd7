"""A full call through the real server writes no media anywhere: no file is opened for writing
while video flows (the test database aside), no media file appears under var/ or the temporary
directory, and the database has no column that could hold media nor a value that looks like it."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import LargeBinary, String, Text, func, select

from server.db import make_engine, make_sessionmaker
from server.models import Base
from server.sealing import development_keyring
from server.settings import PROJECT_DIR, Settings
from tests.signaling.test_webrtc_e2e import KAREN_ID, WAIT_S, all_gone, kiosk_agent, staff, within

pytestmark = pytest.mark.usefixtures("loopback_only_ice")

MEDIA_SUFFIXES = (".webm", ".mp4", ".mkv", ".ivf", ".h264", ".y4m", ".wav", ".ogg", ".opus", ".raw")
# The longest text any column holds after a call: a media frame is kilobytes.
LONGEST_TEXT = 4096


class WriteWatch:
    """Every file this process opens for writing while ``active`` (Python's audit hook: the
    server, the tablet agent and the caller all run in this process)."""

    def __init__(self) -> None:
        self.active = False
        self.paths: list[str] = []
        sys.addaudithook(self._hook)  # hooks cannot be removed: ``active`` turns it off

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event != "open" or len(args) < 2:
            return
        path, mode = args[0], args[1]
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if isinstance(mode, int):
            writing = bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing:
            self.paths.append(str(path))


_WATCHES: list[WriteWatch] = []


def write_watch() -> WriteWatch:
    """The one watch, installed by the first test that needs it (an audit hook stays for the
    rest of the run, so modules that never call this pay nothing)."""
    if not _WATCHES:
        _WATCHES.append(WriteWatch())
    return _WATCHES[0]


def media_files() -> set[Path]:
    """Files with a media suffix under var/ and the temporary directory."""
    found: set[Path] = set()
    for root in (PROJECT_DIR / "var", Path(tempfile.gettempdir())):
        if root.is_dir():
            found |= {p for p in _walk(root) if p.suffix.lower() in MEDIA_SUFFIXES}
    return found


def _walk(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root, onerror=lambda _e: None):
        yield from (Path(folder) / name for name in names)


def open_regular_files() -> set[str]:
    """Regular files this process holds open (a recorder keeps its file open while recording)."""
    fds = Path("/proc/self/fd")
    held = set()
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("/") and not target.startswith(("/dev/", "/proc/")):
            held.add(target)
    return held


async def longest_text(database_url: str) -> int:
    """The longest string value of any text column of any table."""
    engine = make_engine(database_url, keyring=development_keyring())
    longest = 0
    try:
        async with make_sessionmaker(engine)() as session:
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, String | Text):
                        found = await session.scalar(select(func.max(func.length(column))))
                        longest = max(longest, int(found or 0))
    finally:
        await engine.dispose()
    return longest


def test_the_write_watch_sees_a_write(tmp_path: Path) -> None:
    """The watch below is not blind: a file written while it is active is named."""
    watch = write_watch()
    watch.active = True
    try:
        (tmp_path / "probe.webm").write_bytes(b"x")
    finally:
        watch.active = False
    assert watch.paths[-1] == str(tmp_path / "probe.webm")
    watch.paths.clear()


def test_no_table_has_a_binary_column() -> None:
    """Nothing in the schema could hold a recording."""
    binary = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    ]
    assert binary == []


async def test_a_full_call_writes_no_media(
    server: TestServer, signaling_settings: Settings, app: web.Application
) -> None:
    """Ring, answer, video both ways for a second, hang up: nothing is written but the
    test database (call metadata), and nothing in it is longer than a short text."""
    database = signaling_settings.database_url.split("///", 1)[1]
    media_before = media_files()
    held_before = open_regular_files()
    watch = write_watch()
    async with kiosk_agent(server, signaling_settings) as agent, staff(server, "anna") as nurse:
        watch.active = True
        try:
            await nurse.ring(KAREN_ID)
            nurse_call = await asyncio.wait_for(nurse.wait_call(), WAIT_S)
            agent_call = await asyncio.wait_for(agent.wait_call(), WAIT_S)
            await within(nurse_call.peers.wait_video(1))
            await within(agent_call.peers.wait_video(1))
            await asyncio.sleep(1.0)  # a second of media both ways
            held_during = open_regular_files()
            await nurse.hangup()
            await within(agent.ended.wait())
        finally:
            watch.active = False
    await all_gone(app)
    written = {p for p in watch.paths if not p.startswith(database)}
    assert written == set(), written
    new_held = {p for p in held_during - held_before if not p.startswith(database)}
    assert new_held == set(), new_held
    assert media_files() - media_before == set()
    assert await longest_text(signaling_settings.database_url) < LONGEST_TEXT
