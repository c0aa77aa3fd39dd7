"""The browser fixtures of tests/browser, reused for the console's end-to-end tests."""

from tests.browser.conftest import browser, chromium_path, server  # noqa: F401
