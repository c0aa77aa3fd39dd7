"""`screenvisit keys new` and `keys rotate` on a real database, and `serve` refusing to start
when stored values are sealed under a key it does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.sealing import load_keyring
from tests.test_cli import cli_env, free_port, run_cli

__all__ = ["cli_env"]  # the fixture, used by name


def test_keys_new_and_rotate_move_every_value_to_the_new_key(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The demo is sealed under k1 when seeded; `keys new` adds k2 (0600, active); `rotate`
    re-seals everything under k2, says k1 can go, and a second rotate changes nothing."""
    keys = Path(cli_env["SCREENVISIT_DATA_KEYS"])
    assert run_cli("migrate", env=cli_env).returncode == 0
    assert run_cli("seed-demo", env=cli_env).returncode == 0
    first = run_cli("keys", "rotate", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert "sealed 0 plaintext values, re-sealed 0," in first.stdout
    added = run_cli("keys", "new", env=cli_env)
    assert added.returncode == 0, added.stderr
    assert "'k2' added" in added.stdout and keys.stat().st_mode & 0o777 == 0o600
    assert load_keyring(str(keys)).active == "k2"
    rotated = run_cli("keys", "rotate", "--batch", "7", env=cli_env)
    assert rotated.returncode == 0, rotated.stderr
    assert "sealed 0 plaintext values, re-sealed " in rotated.stdout
    assert "re-sealed 0," not in rotated.stdout
    assert "key(s) k1: they can be removed" in rotated.stdout
    again = run_cli("keys", "rotate", env=cli_env)
    assert "re-sealed 0," in again.stdout and "can be removed" in again.stdout
    keys.write_text(keys.read_text().splitlines()[1] + "\n")  # k1 removed
    assert run_cli("keys", "rotate", env=cli_env).returncode == 0


def test_serve_refuses_to_start_without_a_key_in_use(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Sealed values under k1 and a key file without k1: serve exits 2 and names k1."""
    assert run_cli("migrate", env=cli_env).returncode == 0
    assert run_cli("seed-demo", env=cli_env).returncode == 0
    other = tmp_path / "other_keys"
    other.write_text("k9:" + "A" * 43 + "=\n")
    env = cli_env | {"SCREENVISIT_DATA_KEYS": str(other)}
    refused = run_cli("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 2
    assert "sealed under data key(s) k1" in refused.stderr
    assert "A" * 43 not in refused.stderr + refused.stdout


@pytest.mark.parametrize("bad", ["k1:short", "/nonexistent/keys"])
def test_unreadable_data_keys_are_a_clear_error(cli_env: dict[str, str], bad: str) -> None:
    """A key file that cannot be read, or a malformed key, stops the CLI with why."""
    result = run_cli("keys", "rotate", env=cli_env | {"SCREENVISIT_DATA_KEYS": bad})
    assert result.returncode != 0
    assert "data key" in result.stderr and "Traceback" not in result.stderr


def test_keys_new_starts_an_empty_or_missing_key_file(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """An operator's first step: `keys new` on the empty file she made (or on none yet) writes
    the first key, 0600, instead of failing on the missing keys."""
    for name, touch in (("empty", True), ("missing", False)):
        path = tmp_path / f"{name}_keys"
        if touch:
            path.touch(mode=0o644)
        env = {**cli_env, "SCREENVISIT_DATA_KEYS": str(path)}
        made = run_cli("keys", "new", env=env)
        assert made.returncode == 0, made.stderr
        assert "'k1' added" in made.stdout and path.stat().st_mode & 0o777 == 0o600
        assert load_keyring(str(path)).active == "k1"
