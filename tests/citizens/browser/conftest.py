"""The browser fixtures of tests/browser, reused for the consent register's browser test."""

from tests.browser.conftest import browser, chromium_path, server  # noqa: F401
