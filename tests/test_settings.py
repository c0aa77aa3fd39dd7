"""Settings come from SCREENVISIT_* variables with explicit, named casts."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError


def test_settings_from_env_casts_values() -> None:
    """Numbers, booleans, lists and paths are cast from strings."""
    settings = Settings.from_env(
        {
            "SCREENVISIT_PORT": "9000",
            "SCREENVISIT_LOG_JSON": "true",
            "SCREENVISIT_TURN_URLS": "turn:a:3478, turns:b:443",
            "SCREENVISIT_TLS_CERT": "/tmp/c.pem",
            "OTHER": "ignored",
        }
    )
    assert settings.port == 9000
    assert settings.log_json is True
    assert settings.turn_urls == ("turn:a:3478", "turns:b:443")
    assert settings.tls_cert == Path("/tmp/c.pem")


def test_settings_bad_value_names_key_and_value() -> None:
    """A value that cannot be cast fails with the key and the value in the message."""
    with pytest.raises(SettingsError, match=r"SCREENVISIT_PORT='eighty'"):
        Settings.from_env({"SCREENVISIT_PORT": "eighty"})


def test_settings_unknown_key_is_an_error() -> None:
    """A misspelt setting does not pass silently."""
    with pytest.raises(SettingsError, match="SCREENVISIT_PROT"):
        Settings.from_env({"SCREENVISIT_PROT": "1"})


def test_settings_secrets_stay_out_of_repr() -> None:
    """Secrets never reach logs or tracebacks through repr()."""
    settings = Settings(secret_key="s3cr3t-value", turn_secret="turn-s3cr3t")
    assert "s3cr3t" not in repr(settings)


def test_settings_secure_cookies_follow_tls() -> None:
    """Cookies are Secure when the public URL is https."""
    assert Settings(public_url="https://sv.example").secure_cookies
    assert not Settings(public_url="http://localhost:8080").secure_cookies


def test_settings_public_url_follows_port() -> None:
    """Only a port given: links printed for people point at that port."""
    assert Settings.from_env({"SCREENVISIT_PORT": "8099"}).public_url == "http://localhost:8099"
    explicit = {"SCREENVISIT_PORT": "8099", "SCREENVISIT_PUBLIC_URL": "https://sv.example"}
    assert Settings.from_env(explicit).public_url == "https://sv.example"


def test_settings_trusted_proxies_are_checked() -> None:
    """Proxy addresses and networks are validated at start-up."""
    parsed = Settings.from_env({"SCREENVISIT_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"})
    assert parsed.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    with pytest.raises(SettingsError, match="SCREENVISIT_TRUSTED_PROXIES"):
        Settings.from_env({"SCREENVISIT_TRUSTED_PROXIES": "nginx.local"})
