"""Expand the table into cells (route × identity × owner), send each, and judge the answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aiohttp import web

from tests.authz.identities import Identity, Session
from tests.authz.table import CITIZEN, GUEST, ROUTES, Row
from tests.authz.world import MISSING, World

# Path parameters the world has no object for get a fixed value (an id: one that does not exist).
FIXED = {"code": "medication", "date": "2030-01-02", "version": "1"}
BOGUS_TOKEN = "authz-matrix-no-such-token-000000"  # noqa: S105
_PARAM = re.compile(r"\{(\w+)\}")
DENIED = frozenset({401, 403})
INPUT_REFUSED = frozenset({400, 415, 422})


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """Every (method, path pattern) the app serves; HEAD is aiohttp's twin of a GET."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or info.get("prefix")
        if route.method != "HEAD":
            found.add((route.method, str(path)))
    return found


@dataclass(frozen=True)
class Cell:
    """One request of the walk and what the table expects of it."""

    method: str
    pattern: str
    identity: Identity
    owner: str  # "A", "B", "X", "missing" or "-" (no object)
    path: str
    exact: bool  # every id in the path names a real object (else 404 proves nothing)
    allowed: bool

    def label(self) -> str:
        """How a mismatch is reported."""
        return f"{self.method} {self.pattern} as {self.identity.name} (owner {self.owner})"


def cells(world: World, identity: Identity, *, last: bool) -> list[Cell]:
    """Every cell of this identity, in table order (rows marked ``last`` only when asked, and
    the logout after everything else)."""
    found = []
    rows = sorted(ROUTES.items(), key=lambda item: item[0] == ("POST", "/logout"))
    for (method, pattern), row in rows:
        if row.walk and row.last == last:
            found.extend(_row_cells(world, identity, method, pattern, row))
    return found


def owners_for(identity: Identity) -> tuple[str, ...]:
    """The owners worth asking about as this identity: one team-scoped identity sees one team
    and not the other; every identity is asked about another organisation's object and about
    an unknown id (the two must answer alike); the rest is one answer for all."""
    if not identity.sees:
        return ("A", "missing")
    if len(identity.sees) == 1 and "X" not in identity.sees:
        return ("A", "B", "X", "missing")
    return ("A", "X", "missing")


def _row_cells(world: World, identity: Identity, method: str, pattern: str, row: Row) -> list[Cell]:
    if row.capability:
        holder = identity.kind == GUEST and pattern == "/r/{token}"
        token = world.relative_token if holder else BOGUS_TOKEN
        path = pattern.replace("{token}", token)
        return [Cell(method, pattern, identity, "-", path, True, holder)]
    gate = identity.kind in row.gate
    if row.owner != CITIZEN:
        path, exact = _fill(pattern, {})
        return [Cell(method, pattern, identity, "-", path, exact, gate)]
    result = []
    for owner in owners_for(identity):
        ids = world.owners[owner].ids if owner in world.owners else {}
        path, exact = _fill(pattern, ids)
        if row.query:
            path += f"?{row.query}={ids.get(row.query, MISSING)}"
            exact = exact and row.query in ids
        if owner != "missing" and not _has_all(pattern, ids):
            continue  # the world has no such object for this owner
        visible = owner == "missing" or owner in identity.sees
        exact = exact and not row.last
        result.append(Cell(method, pattern, identity, owner, path, exact, gate and visible))
    return result


def _has_all(pattern: str, ids: dict[str, int]) -> bool:
    return all(name in ids or name not in _OWNED for name in _PARAM.findall(pattern))


_OWNED = frozenset({"citizen_id", "visit_id", "plan_id", "relative_id", "consent_id", "sheet_id"})


def _fill(pattern: str, ids: dict[str, int]) -> tuple[str, bool]:
    exact = True

    def value(match: re.Match[str]) -> str:
        nonlocal exact
        name = match.group(1)
        if name in ids:
            return str(ids[name])
        exact = False  # no such object of this owner: a 404 proves nothing
        if name in FIXED:
            return FIXED[name]
        return str(MISSING)

    return _PARAM.sub(value, pattern), exact


async def send(session: Session, cell: Cell) -> tuple[int, str]:
    """The answer's status and, for a redirect, where to."""
    row = ROUTES[cell.method, cell.pattern]
    body = None if cell.method in {"GET", "DELETE"} else json.dumps(row.body or {}).encode()
    headers = dict(session.headers)
    if body is not None:
        headers["Content-Type"] = "application/json"
    async with session.client.request(
        cell.method, cell.path, data=body, headers=headers, allow_redirects=False
    ) as response:
        await response.read()
        return response.status, response.headers.get("Location", "")


def verdict(cell: Cell, status: int, location: str) -> str | None:
    """None when the answer fits the table; otherwise what was wrong."""
    # A page sends an anonymous visitor to the login form (a POST /logout lands there too).
    to_login = 300 <= status < 400 and "/login" in location and cell.method == "GET"
    refused = status in DENIED or to_login or (status == 404 and cell.exact)
    if status >= 500:
        return f"server error {status}"
    if status in INPUT_REFUSED and cell.method not in {"GET", "DELETE"}:
        return None  # the body was refused before anything else: no effect either way
    if cell.allowed and refused:
        return f"expected allowed, got {status} {location}".rstrip()
    if not cell.allowed and not (refused or status in {404, 429}):
        return f"expected denied, got {status} {location}".rstrip()
    return None
