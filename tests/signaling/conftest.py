"""Signalling fixtures: one real server, many independent clients (each its own cookies)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.settings import Settings
from tests.conftest import Client

NewClient = Callable[[], Awaitable[Client]]


@pytest.fixture
def signaling_settings(demo: Settings) -> Settings:
    """Demo data with short timers so timeouts are testable."""
    return dataclasses.replace(
        demo, ring_timeout_s=2, reconnect_grace_s=2, ws_auth_deadline_s=1.0, ws_heartbeat_s=5.0
    )


@pytest.fixture
async def app(signaling_settings: Settings) -> web.Application:
    """The application under test."""
    return create_app(signaling_settings)


@pytest.fixture
async def server(aiohttp_server, app: web.Application) -> TestServer:  # type: ignore[no-untyped-def]
    """The real server on a loopback port."""
    test_server: TestServer = await aiohttp_server(app)
    return test_server


@pytest.fixture
def new_client(aiohttp_client, server: TestServer) -> NewClient:  # type: ignore[no-untyped-def]
    """A factory of clients of the one server, each with its own cookie jar."""

    async def make() -> Client:
        client: Client = await aiohttp_client(server)
        return client

    return make
