"""CSRF protection: a logged-in session has its own token; anonymous forms use a cookie pair.

Every state-changing request (POST, PUT, PATCH, DELETE) must send the token as the
``X-CSRF-Token`` header or a ``csrf_token`` form field. Requests authenticated by a bearer token
(kiosk devices) carry no ambient credentials, so they are exempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..errors import CsrfFailed
from ..keys import csrf_token_key, identity_key, settings_key
from ..security import new_token, tokens_equal
from .sessions import CSRF_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclass(frozen=True, slots=True)
class FreshCookie:
    """A new anonymous CSRF cookie that must be set on the response."""

    value: str

    def apply(self, request: web.Request, response: web.StreamResponse) -> None:
        """Set the cookie unless the response is already on the wire (e.g. a WebSocket)."""
        if response.prepared:
            return
        response.set_cookie(
            CSRF_COOKIE,
            self.value,
            httponly=True,
            samesite="Lax",
            secure=request.app[settings_key].secure_cookies,
            path="/",
        )


def csrf_token_for(request: web.Request) -> FreshCookie | None:
    """Decide the request's expected token and store it for templates; maybe mint a cookie."""
    identity = request.get(identity_key)
    if identity is not None:
        request[csrf_token_key] = identity.csrf_token
        return None
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        request[csrf_token_key] = existing
        return None
    value = new_token(24)
    request[csrf_token_key] = value
    return FreshCookie(value)


async def check_csrf(request: web.Request) -> None:
    """Refuse a state-changing request whose token does not match the expected one."""
    if request.method not in UNSAFE_METHODS:
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        # A cross-site page cannot set Authorization without a CORS preflight, which we never
        # grant; a tablet's browser may also hold a staff cookie (a nurse testing on it). Such a
        # request is never a staff one: the identity middleware ignores the cookie then.
        return
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in _FORM_TYPES:
        form = await request.post()  # cached by aiohttp, handlers can read it again
        field = form.get("csrf_token")
        sent = field if isinstance(field, str) else None
    expected = request[csrf_token_key]
    if not sent or not tokens_equal(sent, expected):
        raise CsrfFailed()
