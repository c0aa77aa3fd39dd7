"""Bounds every input meets at the edge, the same on SQLite and PostgreSQL.

PostgreSQL's ``integer`` ends at 2^31 − 1 and SQLite's at 2^63 − 1: an id past the smaller one
reached the database as a driver error (500 on PostgreSQL, fine on SQLite). Nothing stored can
have such an id, so the edge answers as for any id that does not exist.

PostgreSQL text cannot hold a NUL character (SQLite can): a NUL in a query or a JSON body is
refused at the edge as invalid input on both, so both backends store the same things.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from .errors import InvalidInput, NotFound
from .translatable import N_

MAX_ID = 2**31 - 1

# An id in a JSON body or a query: a positive integer the database can hold.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def out_of_range(value: str) -> bool:
    """True for a path segment of digits that no stored id can equal."""
    return value.isascii() and value.isdigit() and (len(value) > 10 or int(value) > MAX_ID)


class NulCharacter(InvalidInput):
    """Text with a NUL character, which PostgreSQL cannot store."""

    code = "invalid_input"
    default_message = N_("Teksten indeholder et tegn, der ikke kan gemmes (NUL).")


def nul_in(value: Any) -> bool:
    """True when a string anywhere in ``value`` (parsed JSON, dumped model) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(nul_in(k) or nul_in(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(nul_in(item) for item in value)
    return False


@web.middleware
async def path_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A numeric path id beyond the range of ids is simply not found (404), and a NUL in the
    query is invalid input (400), on both backends."""
    if any(out_of_range(value) for value in request.match_info.values()):
        raise NotFound()
    if any(nul_in(value) for value in request.query.values()):
        raise NulCharacter()
    return await handler(request)
