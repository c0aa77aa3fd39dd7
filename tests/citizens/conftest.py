"""The signalling fixtures (one real server, many clients), reused for the ring tests."""

from tests.signaling.conftest import app, new_client, server, signaling_settings  # noqa: F401
