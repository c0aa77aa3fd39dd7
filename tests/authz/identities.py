"""The eleven identities of the matrix, each with its own logged-in client on one shared server."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.sessions import CSRF_COOKIE
from tests.authz.table import ADMIN, ANONYMOUS, CARER, GUEST, NURSE, PLANNER, TABLET, VISITATOR
from tests.conftest import Client, login


@dataclass(frozen=True)
class Identity:
    """Who a request is sent as: a role kind, a demo login (or none) and whose citizens it sees."""

    name: str
    kind: str
    username: str | None = None
    sees: frozenset[str] = frozenset()  # owners: "A" team A, "B" team B, "X" other organisation


IDENTITIES = (
    Identity("anonymous", ANONYMOUS),
    Identity("tablet", TABLET, sees=frozenset({"A"})),  # Karen's tablet
    Identity("guest", GUEST, sees=frozenset({"A"})),  # Karen's relative
    Identity("nurse-A", NURSE, "anna", frozenset({"A"})),
    Identity("nurse-B", NURSE, "bo", frozenset({"B"})),
    Identity("carer-A", CARER, "carla", frozenset({"A"})),
    Identity("planner", PLANNER, "pia", frozenset({"A", "B"})),
    Identity("visitator", VISITATOR, "vera", frozenset({"A", "B"})),
    Identity("admin", ADMIN, "admin", frozenset({"A", "B"})),
    Identity("admin-X", ADMIN, "nadmin", frozenset({"X"})),
    Identity("nurse-X", NURSE, "nina", frozenset({"X"})),
)


@dataclass
class Session:
    """A logged-in client and the headers every request of it carries."""

    identity: Identity
    client: Client
    headers: dict[str, str]


async def open_session(client: Client, identity: Identity, kiosk_token: str) -> Session:
    """Log ``identity`` in on its own client (own cookie jar); learn its CSRF token."""
    if identity.username is not None:
        assert await login(client, identity.username) == 303, identity.username
        me = await (await client.get("/api/me")).json()
        return Session(identity, client, {"X-CSRF-Token": me["csrf_token"]})
    if identity.kind == TABLET:
        return Session(identity, client, {"Authorization": f"Bearer {kiosk_token}"})
    # Anonymous clients get the anonymous CSRF cookie from any page, and send it back.
    await client.get("/login")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    csrf = cookie.get(CSRF_COOKIE)
    return Session(identity, client, {"X-CSRF-Token": csrf.value} if csrf else {})
