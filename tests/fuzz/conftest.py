"""Fuzz fixtures: both backends, short signalling timers, and the world of tests/authz."""

from __future__ import annotations

import dataclasses

import pytest

from server.settings import Settings


@pytest.fixture
def db_url(both_backends: str) -> str:
    return both_backends


@pytest.fixture
def fuzz_settings(demo: Settings) -> Settings:
    """The demo with short timers, so that what fuzzing leaves behind runs out quickly."""
    return dataclasses.replace(
        demo, ring_timeout_s=2, reconnect_grace_s=1, ws_auth_deadline_s=1.0, ws_heartbeat_s=60.0
    )
