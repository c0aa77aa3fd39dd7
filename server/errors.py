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
├── TooManyRequests     429 too_many_requests / login_locked
└── Unavailable         503 unavailable (the database is busy: try again shortly)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .translatable import N_, translated


class AppError(Exception):
    """Base for errors a client may see; ``code`` is stable, ``message`` is for humans.

    Messages are Danish msgids marked with ``N_``; the edge translates them to the reader's
    language (``to_json(gettext)``). An unmarked message goes out as it is.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = N_("Handlingen kunne ikke gennemføres.")

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_json(self, gettext: Callable[[str], str] = str) -> dict[str, Any]:
        """The wire shape ``{"error": {"code", "message", ["details"]}}``, in ``gettext``'s
        language (Danish without one)."""
        body: dict[str, Any] = {"code": self.code, "message": translated(self.message, gettext)}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(AppError):
    """The request's content failed validation."""

    status = 400
    code = "invalid_input"
    default_message = N_("Forespørgslen er ikke gyldig.")


class NotAuthenticated(AppError):
    """No valid login session or token."""

    status = 401
    code = "not_authenticated"
    default_message = N_("Log ind for at fortsætte.")


class Forbidden(AppError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"
    default_message = N_("Du har ikke adgang til dette.")


class OverrideNotAllowed(Forbidden):
    """A medication safety rule is overridden only by a nurse or a visitator, with a reason."""

    code = "override_not_allowed"
    default_message = N_(
        "Kun en sygeplejerske eller en visitator må tilsidesætte en regel for medicin."
    )


class CsrfFailed(Forbidden):
    """A state-changing request without a valid CSRF token."""

    code = "csrf_failed"
    default_message = N_("Siden var for gammel. Genindlæs siden, og prøv igen.")


class NotFound(AppError):
    """No such thing (or not visible to this user)."""

    status = 404
    code = "not_found"
    default_message = N_("Det findes ikke.")


class Conflict(AppError):
    """The request clashes with the current state."""

    status = 409
    code = "conflict"
    default_message = N_("Det passer ikke med, hvordan det står lige nu.")


class PayloadTooLarge(AppError):
    """The body is larger than the configured limit."""

    status = 413
    code = "payload_too_large"
    default_message = N_("Det, du sendte, er for stort.")


class UnsupportedMedia(AppError):
    """The body has a content type this route does not accept."""

    status = 415
    code = "unsupported_media_type"
    default_message = N_("Den slags indhold modtages ikke her.")


class TooManyRequests(AppError):
    """Rate limited; ``retry_after`` seconds tells when to try again."""

    status = 429
    code = "too_many_requests"
    default_message = N_("For mange forsøg. Vent lidt, og prøv igen.")

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(AppError):
    """The database could not be had in time (a full pool): nothing was done; ``retry_after``
    seconds tells when to try again."""

    status = 503
    code = "unavailable"
    default_message = N_("Der skete en fejl hos os. Prøv igen om lidt.")

    def __init__(self, message: str | None = None, *, retry_after: int = 2) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class LoginLocked(TooManyRequests):
    """Too many failed logins for this username."""

    code = "login_locked"
    default_message = N_("For mange forkerte forsøg. Brugeren er låst et stykke tid.")
