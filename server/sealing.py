"""Free-text health data sealed at rest: AES-GCM under a keyring with key ids.

A sealed value is stored as ``v1:<key id>:<base64 of nonce + ciphertext + tag>``. The associated
data binds it to its field (``observation.note``), so a value copied into another column fails
to open instead of showing there. Every read and write of such a column goes through
``SealedText``; the keyring comes from the engine (``make_engine(..., keyring=)``), so an engine
opened without one can still read legacy plaintext but refuses sealed values with a clear error.
Values written before sealing existed are plaintext (no prefix) and read as they are until
``screenvisit keys rotate`` (or migration 0017) seals them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, MetaData, Text
from sqlalchemy.types import TypeDecorator

from .security import DATA_KEY_BYTES, OpenFailed, new_data_key, open_bytes, seal_bytes
from .settings import Settings

FORMAT = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SEALED = re.compile(r"^v1:([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=]+)$")
DEVELOPMENT_KEY_ID = "dev"
# Keys anyone can know: every keyring opens values under them (they are no more secret than
# plaintext, which is read too) and `keys rotate` re-seals them under the active key; so a
# database that tests or a benchmark filled opens under a real key file.
_PUBLIC_KEYS = {DEVELOPMENT_KEY_ID: hashlib.sha256(b"screenvisit development data key").digest()}
# The attribute of an engine's dialect that carries its keyring (set by ``attach``).
_DIALECT_ATTR = "screenvisit_keyring"


class SealingError(Exception):
    """A sealed value cannot be opened; the message names the field and the key id."""


class KeyMissing(SealingError):
    """The value was sealed under a key id the keyring does not hold (or there is no keyring)."""


class Tampered(SealingError):
    """The value does not authenticate: its bytes changed, or it was moved from another field."""


class KeyringError(ValueError):
    """The configured keys cannot be read; the message says what is wrong (never a key)."""


@dataclass(frozen=True, slots=True)
class Keyring:
    """Data keys by id; new values are sealed under ``active``, old ones open under any."""

    keys: Mapping[str, bytes] = field(repr=False)
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyringError(f"active data key {self.active!r} is not in the keyring")

    def seal(self, text: str, where: str) -> str:
        """``text`` sealed under the active key for the field ``where``."""
        blob = seal_bytes(self.keys[self.active], text.encode(), _associated(where, self.active))
        return f"{FORMAT}:{self.active}:{base64.b64encode(blob).decode()}"

    def open(self, stored: str, where: str) -> str:
        """The text of a stored value: sealed values are opened, legacy plaintext passes."""
        parts = sealed_parts(stored)
        if parts is None:
            return stored
        key_id, blob = parts
        key = self.keys.get(key_id) or _PUBLIC_KEYS.get(key_id)
        if key is None:
            raise KeyMissing(f"{where}: sealed under data key {key_id!r}, which is not configured")
        try:
            return open_bytes(key, blob, _associated(where, key_id)).decode()
        except OpenFailed:
            raise Tampered(
                f"{where}: sealed value does not authenticate under key {key_id!r} "
                "(changed, or moved from another field)"
            ) from None

    def is_current(self, stored: str) -> bool:
        """True when ``stored`` is already sealed under the active key."""
        parts = sealed_parts(stored)
        return parts is not None and parts[0] == self.active


def sealed_parts(stored: str) -> tuple[str, bytes] | None:
    """(key id, nonce + ciphertext) of a sealed value; None for plaintext."""
    match = _SEALED.match(stored)
    if match is None:
        return None
    try:
        return match.group(1), base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return None


def _associated(where: str, key_id: str) -> bytes:
    return f"{FORMAT}|{where}|{key_id}".encode()


# --- Keys: a file (or an inline value) of "<id>:<base64 key>" lines; the last is active. ---


def parse_keys(text: str) -> dict[str, bytes]:
    """Keys from ``id:base64`` entries, one per line or comma-separated; ``#`` starts a comment."""
    keys: dict[str, bytes] = {}
    for number, raw in enumerate(re.split(r"[\n,]", text), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        key_id, _, encoded = entry.partition(":")
        if not _KEY_ID.match(key_id):
            raise KeyringError(f"data key entry {number}: the id must be 1-32 of A-Z a-z 0-9 _ -")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != DATA_KEY_BYTES:
            raise KeyringError(f"data key {key_id!r}: expected {DATA_KEY_BYTES} bytes in base64")
        keys[key_id] = key
    return keys


def load_keyring(source: str, active: str | None = None) -> Keyring:
    """The keyring of ``SCREENVISIT_DATA_KEYS``: a file path, or the entries themselves."""
    text = source
    if ":" not in source or source.startswith(("/", "~", ".")):
        path = Path(source).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyringError(f"cannot read data keys from {path}: {exc.strerror}") from None
    keys = parse_keys(text)
    if not keys:
        raise KeyringError("no data key configured")
    return Keyring(keys, active or list(keys)[-1])


def development_keyring() -> Keyring:
    """The keyring of Settings built in code without DATA_KEYS (tests, benchmarks): one fixed,
    well-known key, so every app, node and test engine reads what another wrote. It protects
    nothing; the command line never uses it (it keeps a key file, ``var/data_keys``)."""
    return Keyring(dict(_PUBLIC_KEYS), DEVELOPMENT_KEY_ID)


def settings_keyring(settings: Settings) -> Keyring:
    """The keyring the settings name (``KeyringError`` says why one cannot be read)."""
    if settings.data_keys is None:
        return development_keyring()
    return load_keyring(settings.data_keys, settings.data_key_active)


def new_key_line(existing: Mapping[str, bytes]) -> tuple[str, str]:
    """(id, file line) of a fresh key whose id is not in ``existing``."""
    number = len(existing) + 1
    while f"k{number}" in existing:
        number += 1
    key_id = f"k{number}"
    return key_id, f"{key_id}:{base64.b64encode(new_data_key()).decode()}\n"


# --- The column type and the engine's keyring. ---


def attach(dialect: Dialect, keyring: Keyring) -> None:
    """Give an engine (its dialect) the keyring its ``SealedText`` columns use."""
    setattr(dialect, _DIALECT_ATTR, keyring)


def keyring_of(dialect: Dialect) -> Keyring | None:
    """The keyring an engine was made with, if any."""
    keyring = getattr(dialect, _DIALECT_ATTR, None)
    return keyring if isinstance(keyring, Keyring) else None


class SealedText(TypeDecorator[str]):
    """Text sealed under the engine's keyring on the way in, opened on the way out.

    ``where`` names the field in the associated data (``table.column``; a sheet and its versions
    share one name because the sheet holds a copy of its newest version). Sealed columns cannot
    be searched, ordered or compared in SQL: each value has its own random nonce.
    """

    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        keyring = keyring_of(dialect)
        if keyring is None:
            # Engines without a keyring (migrations, test seeders) write plaintext, which the
            # app reads and `keys rotate` seals; the app's own engine always has one.
            return value
        return keyring.seal(value, self.where)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        keyring = keyring_of(dialect)
        if keyring is None:
            if sealed_parts(value) is not None:
                raise KeyMissing(f"{self.where}: sealed value, but no data keys are configured")
            return value
        return keyring.open(value, self.where)

    def copy(self, **kw: Any) -> SealedText:
        return SealedText(self.where)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value (a dict of notes) stored as sealed text: ``SealedText`` over its JSON."""

    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self._text = SealedText(where)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self._text.process_bind_param(json.dumps(value, ensure_ascii=False), dialect)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        text = self._text.process_result_value(value, dialect)
        return None if text is None else json.loads(text)

    def copy(self, **kw: Any) -> SealedJSON:
        return SealedJSON(self.where)


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """One sealed column: where it is and the name its values are bound to."""

    table: str
    column: str
    where: str


def sealed_columns(metadata: MetaData) -> Iterator[SealedColumn]:
    """Every ``SealedText`` column of the models, in a stable order."""
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for column in table.columns:
            if isinstance(column.type, SealedText | SealedJSON):
                yield SealedColumn(table.name, column.name, column.type.where)
