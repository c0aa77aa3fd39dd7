"""Short-lived TURN credentials (coturn `use-auth-secret`) and the ICE server list for clients."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

from .settings import Settings

# Longer than a visit (3-4 min) or a meeting: coturn may check the expiry again when a relay
# allocation is refreshed, so credentials should outlive the call. Each call start mints anew.
DEFAULT_TTL_S = 3600
STUN_SCHEMES = ("stun:", "stuns:")
TURN_SCHEMES = ("turn:", "turns:")


class IceServerDict(TypedDict):
    """One RTCIceServer, as browsers and aiortc take it."""

    urls: list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


@dataclass(frozen=True, slots=True)
class TurnCredential:
    """A TURN username/password pair and when it stops working (unix seconds)."""

    username: str
    password: str = field(repr=False)
    expires_at: int


def mint_turn_credential(
    secret: str,
    peer_id: str,
    *,
    ttl_s: int = DEFAULT_TTL_S,
    now: Callable[[], float] = time.time,
) -> TurnCredential:
    """Username "<expiry>:<peer_id>", password base64(HMAC-SHA1(secret, username))."""
    # coturn logs TURN usernames: pass an opaque peer id, never a name or a CPR number.
    if not secret:
        raise ValueError("the TURN secret is empty")
    if not peer_id or ":" in peer_id or len(peer_id) > 64:
        raise ValueError("peer_id must be 1-64 characters without ':'")
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    expires_at = int(now()) + ttl_s
    username = f"{expires_at}:{peer_id}"
    return TurnCredential(username, turn_password(secret, username), expires_at)


def turn_password(secret: str, username: str) -> str:
    """The password coturn derives for `username` from the shared secret."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def ice_servers(
    stun_urls: Sequence[str],
    turn_urls: Sequence[str],
    credential: TurnCredential | None,
) -> list[IceServerDict]:
    """The RTCConfiguration.iceServers list: one STUN entry, one TURN entry with credentials."""
    _check_schemes(stun_urls, STUN_SCHEMES)
    _check_schemes(turn_urls, TURN_SCHEMES)
    servers: list[IceServerDict] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls:
        if credential is None:
            raise ValueError("TURN URLs need a credential")
        servers.append(
            {
                "urls": list(turn_urls),
                "username": credential.username,
                "credential": credential.password,
            }
        )
    return servers


def _check_schemes(urls: Sequence[str], schemes: tuple[str, ...]) -> None:
    """Raise ValueError for a URL that does not start with one of `schemes`."""
    for url in urls:
        if not url.startswith(schemes):
            raise ValueError(f"{url!r} does not start with one of {', '.join(schemes)}")


def ice_servers_for(settings: Settings, peer_id: str) -> list[IceServerDict]:
    """A fresh ICE server list for one peer, with TURN credentials minted when configured."""
    credential = None
    if settings.turn_urls and settings.turn_secret:
        credential = mint_turn_credential(settings.turn_secret, peer_id, ttl_s=settings.turn_ttl_s)
    turn = settings.turn_urls if credential else ()
    return ice_servers(settings.stun_urls, turn, credential)
