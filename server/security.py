"""Passwords, tokens, certificates and AES-GCM — the only module that imports ``cryptography``."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

# Argon2id with the library's RFC 9106 "low memory" profile: fast enough for logins on 2 cores.
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash string (salt and parameters included)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` in a worker thread: Argon2 takes ~0.2 s and must not stall calls."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(stored_hash: str, password: str) -> bool:
    """``verify_password`` in a worker thread (argon2-cffi releases the GIL while hashing)."""
    return await asyncio.to_thread(verify_password, stored_hash, password)


# A real hash to verify against when the username is unknown, so timing does not reveal it.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token for cookies, devices and invites."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """What we store instead of a token: its SHA-256 (tokens are random, so no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


def sign(secret: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` under ``secret``, hex."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


DATA_KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12  # GCM's 96-bit nonce, random per value (2^32 values per key stay safe)


class OpenFailed(ValueError):
    """A sealed value did not authenticate: wrong key, changed bytes or other associated data."""


def new_data_key() -> bytes:
    """A fresh random AES-256 key."""
    return AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)


def seal_bytes(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """Nonce followed by AES-GCM ciphertext and tag; ``associated`` is authenticated, not stored."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_bytes(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    """The plaintext of ``seal_bytes``' output; ``OpenFailed`` unless every byte authenticates."""
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
    except (InvalidTag, ValueError):
        raise OpenFailed("sealed value does not authenticate") from None


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    """Where a generated certificate and its key were written."""

    cert: Path
    key: Path


def make_self_signed_cert(
    directory: Path, hostnames: list[str], days: int = 825
) -> CertificateFiles:
    """Write a self-signed ECDSA P-256 certificate for ``hostnames`` (DNS names or IPs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(_alt_names(hostnames)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = CertificateFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.touch(mode=0o600)
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _alt_names(hostnames: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def certificate_hostnames(cert_path: Path) -> list[str]:
    """The subject alternative names of a PEM certificate (used by tests and the CLI)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    dns = ext.value.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    return [*dns, *ips]
