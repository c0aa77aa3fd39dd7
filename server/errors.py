"""Typed application errors with stable string codes; mapped to responses at the edge only.

AppError
├── InvalidInput        400 invalid_input
├── NotAuthenticated    401 not_authenticated
├── Forbidden           403 forbidden
│   └── CsrfFailed      403 csrf_failed
├── NotFound            404 not_found
├── Conflict            409 conflict
├── PayloadTooLarge     413 payload_too_large
├── UnsupportedMedia    415 unsupported_media_type
└── TooManyRequests     429 too_many_requests / login_locked
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base for errors a client may see; ``code`` is stable, ``message`` is for humans."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "The request could not be handled."

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_json(self) -> dict[str, Any]:
        """The wire shape ``{"error": {"code", "message", ["details"]}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(AppError):
    """The request's content failed validation."""

    status = 400
    code = "invalid_input"
    default_message = "The request is not valid."


class NotAuthenticated(AppError):
    """No valid login session or token."""

    status = 401
    code = "not_authenticated"
    default_message = "Please log in."


class Forbidden(AppError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"
    default_message = "You do not have access to this."


class OverrideNotAllowed(Forbidden):
    """A medication safety rule is overridden only by a nurse or a visitator, with a reason."""

    code = "override_not_allowed"
    default_message = "Only a nurse or a visitator may override a medication safety rule."


class CsrfFailed(Forbidden):
    """A state-changing request without a valid CSRF token."""

    code = "csrf_failed"
    default_message = "The form has expired. Reload the page and try again."


class NotFound(AppError):
    """No such thing (or not visible to this user)."""

    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(AppError):
    """The request clashes with the current state."""

    status = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


class PayloadTooLarge(AppError):
    """The body is larger than the configured limit."""

    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMedia(AppError):
    """The body has a content type this route does not accept."""

    status = 415
    code = "unsupported_media_type"
    default_message = "This content type is not accepted here."


class TooManyRequests(AppError):
    """Rate limited; ``retry_after`` seconds tells when to try again."""

    status = 429
    code = "too_many_requests"
    default_message = "Too many attempts. Wait a moment and try again."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class LoginLocked(TooManyRequests):
    """Too many failed logins for this username."""

    code = "login_locked"
    default_message = "Too many failed attempts. The account is locked for a while."
