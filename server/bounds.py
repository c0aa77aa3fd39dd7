"""Bounds every input meets at the edge, the same on SQLite and PostgreSQL.

PostgreSQL's ``integer`` ends at 2^31 − 1 and SQLite's at 2^63 − 1: an id past the smaller one
reached the database as a driver error (500 on PostgreSQL, fine on SQLite). Nothing stored can
have such an id, so the edge answers as for any id that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from aiohttp import web
from pydantic import Field

from .errors import NotFound

MAX_ID = 2**31 - 1

# An id in a JSON body or a query: a positive integer the database can hold.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def out_of_range(value: str) -> bool:
    """True for a path segment of digits that no stored id can equal."""
    return value.isascii() and value.isdigit() and (len(value) > 10 or int(value) > MAX_ID)


@web.middleware
async def path_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A numeric path id beyond the range of ids is simply not found (404), on both backends."""
    if any(out_of_range(value) for value in request.match_info.values()):
        raise NotFound()
    return await handler(request)
