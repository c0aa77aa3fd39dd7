"""Bounds every input meets at the edge, the same on SQLite and PostgreSQL.

PostgreSQL's ``integer`` ends at 2^31 − 1 and SQLite's at 2^63 − 1: an id past the smaller one
reached the database as a driver error (500 on PostgreSQL, fine on SQLite). Nothing stored can
have such an id, so the edge answers as for any id that does not exist.

PostgreSQL text cannot hold a NUL character (SQLite can): a NUL in a query or a JSON body is
refused at the edge as invalid input on both, so both backends store the same things.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, Field, WithJsonSchema

from .errors import InvalidInput, NotFound
from .translatable import N_

MAX_ID = 2**31 - 1

# An id in a JSON body or a query: a positive integer the database can hold.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

T = TypeVar("T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def out_of_range(value: str) -> bool:
    """True for a path segment of digits that no stored id can equal."""
    return value.isascii() and value.isdigit() and (len(value) > 10 or int(value) > MAX_ID)


class NulCharacter(InvalidInput):
    """Text with a NUL character, which PostgreSQL cannot store."""

    code = "invalid_input"
    default_message = N_("Teksten indeholder et tegn, der ikke kan gemmes (NUL).")


class OutOfRange(InvalidInput):
    """A number or a date no column can hold, or no plan can mean (the year 9999)."""

    code = "invalid_input"
    default_message = N_("Et tal eller en dato ligger uden for det mulige.")


# Dates a person or a plan can mean: birth dates from 1900, plans up to 2200.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2200, 12, 31)


def _without_offset(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("a local time has no UTC offset")
    return value


# A wall-clock time in the organisation's zone: "08:00" or "08:00:00", never with an offset
# ("00:00:00Z" was accepted and stored). Documented by a pattern, not JSON Schema's
# `format: time`, which is RFC 3339's full-time and requires the offset a local time never has
# (schemathesis found every plan's "08:00:00" violating its own declaration).
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
LocalTime = Annotated[
    dt.time,
    AfterValidator(_without_offset),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "examples": ["08:00"]}),
]


def nul_in(value: Any) -> bool:
    """True when a string anywhere in ``value`` (parsed JSON, dumped model) holds a NUL."""
    return any("\x00" in text for text in _leaves(value, str))


def out_of_bounds(value: Any) -> bool:
    """True when an integer anywhere in ``value`` is past what an integer column holds, or a
    date lies outside FIRST_DATE … LAST_DATE."""
    return any(
        abs(number) > MAX_ID for number in _leaves(value, int) if not isinstance(number, bool)
    ) or any(not FIRST_DATE <= _date(day) <= LAST_DATE for day in _leaves(value, dt.date))


def check_body(value: Any, *, text: bool = True) -> None:
    """Refuse a validated body (dumped) that PostgreSQL could not store as SQLite would
    (``text=False``: the caller examines its text itself)."""
    if text and nul_in(value):
        raise NulCharacter()
    if out_of_bounds(value):
        raise OutOfRange()


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _leaves(value: Any, kind: type[T]) -> Iterator[T]:
    """Every value of ``kind`` in nested dicts (keys too), lists and tuples."""
    if isinstance(value, kind):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key, kind)
            yield from _leaves(item, kind)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item, kind)


@web.middleware
async def path_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A numeric path id beyond the range of ids is simply not found (404), and a NUL in the
    query is invalid input (400), on both backends."""
    if any(out_of_range(value) for value in request.match_info.values()):
        raise NotFound()
    if any(nul_in(value) for value in request.query.values()):
        raise NulCharacter()
    return await handler(request)
