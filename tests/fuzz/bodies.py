"""Hostile JSON bodies for the API's POST and PUT routes, shaped by their OpenAPI schemas.

Each body has the route's own field names with values that are right in kind or wrong in an
instructive way: NUL characters, strings past any limit, integers past both backends' columns,
dates in the year 9999 or 1, NaN, deep nesting, a wrong type. Path ids name real objects of
team A (tests/authz/world.py), so bodies reach the code behind validation, not a 404.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.authz.world import MISSING, World
from tests.fuzz.frames import huge_text, junk, nested
from tests.fuzz.profile import draw

FIXED = {"code": "medication", "date": "2030-01-02", "version": "1"}
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """A JSON operation that takes a body."""

    method: str
    path: str  # OpenAPI form, with {name} parameters
    schema: dict[str, Any]  # the body's schema, $refs resolved at the top level


def body_routes(document: dict[str, Any]) -> list[Route]:
    """Every operation of the OpenAPI document with a JSON request body."""
    schemas = document["components"]["schemas"]
    found = []
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = resolve(content["application/json"]["schema"], schemas)
                found.append(Route(method.upper(), path, schema))
    return found


def resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its own ``$ref`` (and its properties' ``$ref``s) looked up."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    if "properties" in schema:
        props = {name: _one(prop, schemas) for name, prop in schema["properties"].items()}
        schema = {**schema, "properties": props}
    return schema


def _one(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A property's schema: the first non-null choice of an anyOf, its $ref looked up."""
    for choice in schema.get("anyOf", []):
        if choice.get("type") != "null":
            schema = choice
            break
    if "$ref" in schema:
        return dict(schemas[schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def fill_path(path: str, world: World) -> str:
    """The path with each id of team A's objects (an unknown id where the world has none)."""
    ids = world.owners["A"].ids
    return _PARAM.sub(lambda m: str(ids.get(m.group(1), FIXED.get(m.group(1), MISSING))), path)


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value of the property's kind, or one of the instructive wrong ones."""
    kind, fmt = schema.get("type"), schema.get("format")
    if "enum" in schema:
        right: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
    elif fmt == "date":
        right = st.sampled_from(["2030-01-02", "9999-12-31", "0001-01-01", "2030-02-30"])
    elif fmt == "date-time":
        right = st.sampled_from(["2030-01-02T08:00:00Z", "9999-12-31T23:59:59Z", "2030-01-02"])
    elif fmt == "time":
        right = st.sampled_from(["08:00", "08:00:00", "00:00:00Z", "24:00", "8"])
    elif kind == "integer":
        right = st.sampled_from([1, 0, -1, 2**31, 2**63, 10**30])
    elif kind == "number":
        right = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        right = st.booleans()
    elif kind == "array":
        right = st.lists(value_for(schema.get("items", {})), max_size=3)
    elif kind == "object" and "properties" in schema:
        right = st.fixed_dictionaries({k: value_for(v) for k, v in schema["properties"].items()})
    else:
        right = st.text(max_size=20)
    wrong = st.one_of(
        junk(1), huge_text(), st.text(max_size=5).map(lambda t: t + "\x00"), st.just(2**64)
    )
    return st.one_of(right, right, right, wrong)


@st.composite
def body(draw: st.DrawFn, schema: dict[str, Any]) -> str:
    """JSON text of one body: the schema's fields, some missing, some wrong, now and then a
    NaN or deep nesting written into the text itself."""
    props = schema.get("properties", {})
    data = {
        name: draw(value_for(prop))
        for name, prop in props.items()
        if draw(st.integers(0, 7)) or name in schema.get("required", ())
    }
    how = draw(st.integers(0, 9))
    if how == 0:
        return json.dumps(data)[:-1] + (', "nan": NaN}' if data else '"nan": NaN}')
    if how == 1:
        return nested(draw(st.sampled_from([50, 1000, 5000])))
    if how == 2:
        return json.dumps(draw(junk()))
    return json.dumps(data)


def cases(routes: list[Route], per_route: int) -> list[tuple[Route, str]]:
    """``per_route`` bodies for each route, drawn under the fixed profile."""
    return [(route, text) for route in routes for text in draw(body(route.schema), per_route)]
