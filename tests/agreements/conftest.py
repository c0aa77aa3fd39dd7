"""The browser fixtures of tests/browser, reused for the agreement-sheet browser tests."""

from tests.browser.conftest import browser, chromium_path, server  # noqa: F401
