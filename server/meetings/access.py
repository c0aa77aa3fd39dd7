"""How a guest's browser proves what it did: a device cookie (which device used an invite
first) and a PIN pass (this device gave the invite's PIN), shared by the join page and the
signalling handshake; and the per-address limit on wrong tokens and PINs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..models import MeetingInvite
from ..ratelimit import FailureLimiter
from ..security import new_token, sign, token_hash, tokens_equal
from .invites import Lookup

DEVICE_COOKIE: Final = "sv_guest_device"
PASS_COOKIE: Final = "sv_guest_pin"
DEVICE_COOKIE_S = 7 * 24 * 3600
ADDRESS_FAILURES = 10  # unknown tokens and wrong PINs per address per ten minutes


@dataclass
class JoinLimits:
    """Failures per client address (wrong tokens, wrong PINs); each invite also locks itself
    after five wrong PINs (``invites.check_pin``)."""

    by_address: FailureLimiter


join_limits_key = web.AppKey("join_limits_key", JoinLimits)


def address_key(request: web.Request) -> int:
    """The client's address as a number, the limiter's key (0 when unknown)."""
    try:
        return int(ipaddress.ip_address(request.remote or ""))
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class Device:
    """The guest browser's device cookie; ``fresh`` means it must be set on the response."""

    token: str
    fresh: bool

    @property
    def hash(self) -> str:
        """What the invite remembers (never the cookie itself)."""
        return token_hash(self.token)


def device_of(request: web.Request) -> Device:
    """The browser's device cookie, or a new one."""
    existing = request.cookies.get(DEVICE_COOKIE, "")
    if 16 <= len(existing) <= 128:
        return Device(existing, False)
    return Device(new_token(24), True)


def pin_pass(secret: str, invite: MeetingInvite, device: Device) -> str:
    """Proof that this device gave this invite's PIN (bound to the PIN hash: a new PIN or
    another device needs the PIN again)."""
    return sign(secret, f"guest-pin:{invite.id}:{invite.pin_hash}:{device.hash}")


def pin_given(request: web.Request, secret: str, invite: MeetingInvite, device: Device) -> bool:
    """True when the invite has no PIN or this device has given it."""
    if invite.pin_hash is None:
        return True
    sent = request.cookies.get(PASS_COOKIE, "")
    return bool(sent) and tokens_equal(sent, pin_pass(secret, invite, device))


def set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, secure: bool
) -> None:
    """A guest cookie: HTTP only, same-site, whole site (the socket at /ws needs it too)."""
    response.set_cookie(
        name, value, httponly=True, samesite="Lax", secure=secure, path="/", max_age=DEVICE_COOKIE_S
    )


def audit_guest(
    session: AsyncSession,
    request: web.Request | None,
    action: str,
    found: Lookup,
    detail: dict[str, object] | None = None,
) -> None:
    """An audit event of a guest (no staff actor), under the citizen's organisation."""
    invite = found.invite
    actor = f"guest:invite-{invite.id}" if invite is not None else "guest"
    subject = ("invite", invite.id) if invite is not None else None
    event = audit.record(
        session, action, actor=actor, subject=subject, detail=detail, request=request
    )
    event.organisation_id = found.organisation_id
