"""Tests for server.turn: coturn use-auth-secret credentials and ICE server lists."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from server.signaling.messages import IceServer
from server.turn import (
    DEFAULT_TTL_S,
    TurnCredential,
    ice_servers,
    mint_turn_credential,
    turn_password,
)

SECRET = "coturn-static-auth-secret"
NOW = 1_700_000_000.0


def hmac_sha1_by_hand(key: bytes, message: bytes) -> bytes:
    """RFC 2104 HMAC-SHA1 written out, independent of the hmac module."""
    block = 64
    key = hashlib.sha1(key).digest() if len(key) > block else key
    key = key.ljust(block, b"\0")
    inner = hashlib.sha1(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha1(bytes(k ^ 0x5C for k in key) + inner).digest()


def mint(ttl_s: int = DEFAULT_TTL_S) -> TurnCredential:
    """A credential minted at the fixed test time."""
    return mint_turn_credential(SECRET, "peer1", ttl_s=ttl_s, now=lambda: NOW)


def test_turn_password_known_vector() -> None:
    """The password matches the well-known HMAC-SHA1 vector for key "key"."""
    expected = bytes.fromhex("de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9")
    password = turn_password("key", "The quick brown fox jumps over the lazy dog")
    assert password == base64.b64encode(expected).decode()


def test_mint_username_is_expiry_colon_id() -> None:
    """The username is "<unix expiry>:<id>" with expiry = now + ttl."""
    credential = mint(ttl_s=600)
    assert credential.username == f"{int(NOW) + 600}:peer1"
    assert credential.expires_at == int(NOW) + 600


def test_mint_password_matches_independent_hmac() -> None:
    """The password is base64(HMAC-SHA1(secret, username)), as coturn recomputes it."""
    credential = mint()
    digest = hmac_sha1_by_hand(SECRET.encode(), credential.username.encode())
    assert credential.password == base64.b64encode(digest).decode()


def test_mint_default_ttl() -> None:
    """Without ttl_s the credential lives DEFAULT_TTL_S seconds."""
    credential = mint_turn_credential(SECRET, "peer1", now=lambda: NOW)
    assert credential.expires_at == int(NOW) + DEFAULT_TTL_S


def test_mint_with_real_clock_expires_in_future() -> None:
    """A credential minted now is still valid now and lapses after its ttl."""
    before = time.time()
    credential = mint_turn_credential(SECRET, "peer1", ttl_s=60)
    assert before < credential.expires_at <= time.time() + 60


def test_mint_in_the_past_is_expired() -> None:
    """A credential minted two ttls ago has an expiry in the past, so coturn refuses it."""
    credential = mint_turn_credential(SECRET, "peer1", ttl_s=60, now=lambda: time.time() - 120)
    assert credential.expires_at < time.time()


def test_credential_repr_hides_password() -> None:
    """The password never shows in logs or tracebacks."""
    credential = mint()
    assert credential.password not in repr(credential)


@pytest.mark.parametrize(
    ("secret", "peer_id", "ttl_s"),
    [
        ("", "peer1", 60),
        (SECRET, "", 60),
        (SECRET, "a:b", 60),
        (SECRET, "x" * 65, 60),
        (SECRET, "peer1", 0),
        (SECRET, "peer1", -5),
    ],
)
def test_mint_rejects_bad_input(secret: str, peer_id: str, ttl_s: int) -> None:
    """Empty secret, a ':' or over-long id and a non-positive ttl are refused."""
    with pytest.raises(ValueError):
        mint_turn_credential(secret, peer_id, ttl_s=ttl_s, now=lambda: NOW)


def test_ice_servers_stun_and_turn_with_turns() -> None:
    """STUN URLs form one entry; turn: and turns: URLs share one entry with credentials."""
    credential = mint()
    servers = ice_servers(
        ["stun:stun.example.dk:3478"],
        ["turn:turn.example.dk:3478?transport=udp", "turns:turn.example.dk:5349?transport=tcp"],
        credential,
    )
    assert servers == [
        {"urls": ["stun:stun.example.dk:3478"]},
        {
            "urls": [
                "turn:turn.example.dk:3478?transport=udp",
                "turns:turn.example.dk:5349?transport=tcp",
            ],
            "username": credential.username,
            "credential": credential.password,
        },
    ]


@pytest.mark.parametrize(
    ("stun", "turn", "with_credential", "expected_entries"),
    [
        ([], [], False, 0),
        (["stun:a"], [], False, 1),
        ([], ["turn:a"], True, 1),
        (["stun:a", "stuns:b"], ["turns:c"], True, 2),
    ],
)
def test_ice_servers_entries(
    stun: list[str], turn: list[str], with_credential: bool, expected_entries: int
) -> None:
    """Empty lists produce no entry; credentials are only needed for TURN."""
    credential = mint() if with_credential else None
    assert len(ice_servers(stun, turn, credential)) == expected_entries


@pytest.mark.parametrize(
    ("stun", "turn"),
    [
        (["turn:a"], []),
        ([], ["stun:a"]),
        (["http://a"], []),
        ([], ["turn:a"]),
    ],
)
def test_ice_servers_rejects_bad_lists(stun: list[str], turn: list[str]) -> None:
    """Wrong schemes, and TURN URLs without a credential, are configuration errors."""
    with pytest.raises(ValueError):
        ice_servers(stun, turn, None)


def test_ice_servers_fit_the_wire_model() -> None:
    """Every entry validates as the protocol's IceServer."""
    for server in ice_servers(["stun:a:3478"], ["turns:b:5349"], mint()):
        assert IceServer.model_validate(server).urls == tuple(server["urls"])
