"""The keyring alone: sealing round trips, and every wrong input fails closed with a clear error."""

from __future__ import annotations

import base64

import pytest

from server.sealing import (
    KeyMissing,
    Keyring,
    KeyringError,
    Tampered,
    development_keyring,
    load_keyring,
    new_key_line,
    parse_keys,
    sealed_parts,
)
from server.security import new_data_key

TEXT = "Hører dårligt på venstre øre; blodsukker 14,2 i morges"


def ring(*ids: str, active: str | None = None) -> Keyring:
    """A keyring of fresh keys under these ids."""
    return Keyring({i: new_data_key() for i in ids}, active or ids[-1])


def test_sealing_round_trips_and_hides_the_text() -> None:
    """A sealed value names its key, hides the text, differs each time and opens to the text."""
    keyring = ring("k1")
    first, second = keyring.seal(TEXT, "observation.note"), keyring.seal(TEXT, "observation.note")
    assert first.startswith("v1:k1:") and first != second
    assert "blodsukker" not in first and b"blodsukker" not in base64.b64decode(first[6:])
    assert keyring.open(first, "observation.note") == TEXT
    assert keyring.is_current(first)


def test_plaintext_from_before_sealing_reads_as_it_is() -> None:
    """A legacy value (no prefix) passes through unchanged and is not current."""
    keyring = ring("k1")
    assert keyring.open(TEXT, "citizen.wishes") == TEXT
    assert not keyring.is_current(TEXT) and sealed_parts(TEXT) is None


def test_changed_ciphertext_fails_closed() -> None:
    """One changed byte: Tampered, naming the field and the key, never garbage."""
    keyring = ring("k1")
    sealed = keyring.seal(TEXT, "observation.note")
    blob = bytearray(base64.b64decode(sealed.split(":")[2]))
    blob[20] ^= 1
    changed = "v1:k1:" + base64.b64encode(bytes(blob)).decode()
    with pytest.raises(Tampered, match=r"observation\.note.*'k1'"):
        keyring.open(changed, "observation.note")


def test_a_value_moved_to_another_field_fails_closed() -> None:
    """The field is bound into the ciphertext: a note copied into `wishes` does not open."""
    keyring = ring("k1")
    sealed = keyring.seal(TEXT, "observation.note")
    with pytest.raises(Tampered, match="moved from another field"):
        keyring.open(sealed, "citizen.wishes")


def test_a_relabelled_key_id_fails_closed() -> None:
    """The key id is bound too: relabelling a value to another key that exists fails."""
    keyring = Keyring({"k1": b"\x01" * 32, "k2": b"\x01" * 32}, "k2")
    sealed = keyring.seal(TEXT, "consent.note")
    with pytest.raises(Tampered):
        keyring.open(sealed.replace("v1:k2:", "v1:k1:"), "consent.note")


def test_an_unknown_key_id_is_named() -> None:
    """A value under a key the ring does not hold: KeyMissing names the key id."""
    sealed = ring("old").seal(TEXT, "inbox_item.note")
    with pytest.raises(KeyMissing, match="'old'"):
        ring("new").open(sealed, "inbox_item.note")


def test_key_files_parse_and_bad_ones_say_why_without_the_key() -> None:
    """Entries parse from lines or commas; the last is active; a bad entry's message names the
    entry, not the key material."""
    k1, line1 = new_key_line({})
    k2, line2 = new_key_line(parse_keys(line1))
    assert (k1, k2) == ("k1", "k2")
    keyring = load_keyring(f"# comment\n{line1}{line2}".replace("\n", ",", 1))
    assert list(keyring.keys) == ["k1", "k2"] and keyring.active == "k2"
    assert load_keyring(line1 + line2, "k1").active == "k1"
    short = "k1:" + base64.b64encode(b"secret-ish-bytes").decode()
    with pytest.raises(KeyringError) as error:
        parse_keys(short)
    assert "c2VjcmV0" not in str(error.value) and "32 bytes" in str(error.value)
    with pytest.raises(KeyringError, match="not in the keyring"):
        load_keyring(line1, "k7")
    with pytest.raises(KeyringError, match="cannot read data keys"):
        load_keyring("/nonexistent/data_keys")
    assert repr(keyring) == "Keyring(active='k2')"  # keys never reach logs or tracebacks


def test_the_public_development_key_opens_under_any_keyring() -> None:
    """What tests or a benchmark sealed under the well-known development key reads under a
    real key file (it is no more secret than plaintext) and is not current there."""
    sealed = development_keyring().seal(TEXT, "observation.note")
    production = ring("k1")
    assert production.open(sealed, "observation.note") == TEXT
    assert not production.is_current(sealed)
