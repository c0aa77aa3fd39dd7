"""The browser fixtures of tests/browser, reused for the meeting's end-to-end test."""

from tests.browser.conftest import browser, chromium_path, server  # noqa: F401
