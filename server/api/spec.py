"""Typed JSON routes: request/response models, validation at the edge, and the OpenAPI 3.1 data."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..auth.authz import require_staff
from ..bounds import check_body
from ..errors import InvalidInput, UnsupportedMedia
from ..translatable import N_
from ..vocabulary import Role

B = TypeVar("B", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented JSON operation."""

    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool


@dataclass
class ApiRoutes:
    """A route table for one feature module, remembering what OpenAPI needs to know."""

    tag: str
    table: web.RouteTableDef = field(default_factory=web.RouteTableDef)
    operations: list[Operation] = field(default_factory=list)

    def get(
        self, path: str, *, response: type[R], summary: str, public: bool = False
    ) -> Callable[[Callable[[web.Request], Awaitable[R]]], Handler]:
        """Register a GET returning ``response``."""

        def decorate(func: Callable[[web.Request], Awaitable[R]]) -> Handler:
            self._document("GET", path, summary, None, response, 200, public)

            async def handler(request: web.Request) -> web.StreamResponse:
                return model_response(await func(request), 200)

            self.table.get(path, name=func.__name__)(handler)
            return handler

        return decorate

    def post(
        self,
        path: str,
        *,
        body: type[B],
        response: type[R],
        summary: str,
        status: int = 200,
        public: bool = False,
        roles: Collection[Role] = (),
    ) -> Callable[[Callable[[web.Request, B], Awaitable[R]]], Handler]:
        """Register a POST whose JSON body is validated as ``body`` (after the caller: see
        ``gate``)."""

        def decorate(func: Callable[[web.Request, B], Awaitable[R]]) -> Handler:
            self._document("POST", path, summary, body, response, status, public)

            async def handler(request: web.Request) -> web.StreamResponse:
                gate(request, public=public, roles=roles)
                parsed = await parse_body(request, body)
                return model_response(await func(request, parsed), status)

            self.table.post(path, name=func.__name__)(handler)
            return handler

        return decorate

    def put(
        self,
        path: str,
        *,
        body: type[B],
        response: type[R],
        summary: str,
        roles: Collection[Role] = (),
    ) -> Callable[[Callable[[web.Request, B], Awaitable[R]]], Handler]:
        """Register a PUT (replace) whose JSON body is validated as ``body`` (after the caller:
        see ``gate``)."""

        def decorate(func: Callable[[web.Request, B], Awaitable[R]]) -> Handler:
            self._document("PUT", path, summary, body, response, 200, False)

            async def handler(request: web.Request) -> web.StreamResponse:
                gate(request, public=False, roles=roles)
                parsed = await parse_body(request, body)
                return model_response(await func(request, parsed), 200)

            self.table.put(path, name=func.__name__)(handler)
            return handler

        return decorate

    def delete(
        self, path: str, *, response: type[R], summary: str
    ) -> Callable[[Callable[[web.Request], Awaitable[R]]], Handler]:
        """Register a DELETE (no body) returning ``response``."""

        def decorate(func: Callable[[web.Request], Awaitable[R]]) -> Handler:
            self._document("DELETE", path, summary, None, response, 200, False)

            async def handler(request: web.Request) -> web.StreamResponse:
                return model_response(await func(request), 200)

            self.table.delete(path, name=func.__name__)(handler)
            return handler

        return decorate

    def _document(
        self,
        method: str,
        path: str,
        summary: str,
        body: type[BaseModel] | None,
        response: type[BaseModel] | None,
        status: int,
        public: bool,
    ) -> None:
        self.operations.append(
            Operation(method, path, summary, self.tag, body, response, status, public)
        )


def gate(request: web.Request, *, public: bool, roles: Collection[Role]) -> None:
    """Who may call is checked before what was sent: a route that is not public needs a
    signed-in staff member (OpenAPI declares its session), and one in ``roles`` when the route
    names them, so that an unauthorised caller gets 401/403 whatever the body (the authz matrix
    found some 280 denied cells answered 400 by body validation). The handler still applies
    its finer rules (team, organisation, the object) afterwards."""
    if not public:
        require_staff(request, *roles)


async def parse_body(request: web.Request, model: type[B]) -> B:
    """Validate a JSON body; wrong content type → 415, bad JSON or fields → 400 with details."""
    if request.content_type != "application/json":
        raise UnsupportedMedia(N_("Send indholdet som application/json."))
    raw = await request.read()
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(
            N_("Indholdet er ikke gyldigt."), details=validation_details(exc)
        ) from None
    check_body(parsed.model_dump(), text=not getattr(model, "names_bad_lines", False))
    return parsed


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors reduced to location, type and message (no input echo of secrets)."""
    return [
        {"loc": [str(part) for part in err["loc"]], "type": err["type"], "msg": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def model_response(model: BaseModel, status: int) -> web.Response:
    """Serialise a response model."""
    return web.json_response(text=model.model_dump_json(), status=status)


def path_parameters(path: str) -> tuple[str, list[dict[str, Any]]]:
    """Turn an aiohttp path into an OpenAPI path and its parameter objects."""
    params = []
    parts = []
    for literal, name, pattern in _split_path(path):
        parts.append(literal)
        if name:
            kind = "integer" if pattern in {r"\d+", "[0-9]+"} else "string"
            schema: dict[str, Any] = {"type": kind}
            if pattern and kind == "string":
                schema["pattern"] = f"^{pattern}$"
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
            parts.append("{" + name + "}")
    return "".join(parts), params


def _split_path(path: str) -> list[tuple[str, str, str]]:
    """(literal, name, pattern) triples; patterns may hold braces such as ``\\d{4}``."""
    pieces: list[tuple[str, str, str]] = []
    literal, i = "", 0
    while i < len(path):
        if path[i] != "{":
            literal += path[i]
            i += 1
            continue
        depth, j = 1, i + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            j += 1
        name, _, pattern = path[i + 1 : j - 1].partition(":")
        pieces.append((literal, name, pattern))
        literal, i = "", j
    pieces.append((literal, "", ""))
    return pieces


def dump(value: Any) -> str:
    """Compact JSON for responses built by hand (OpenAPI, schemas)."""
    return json.dumps(value, separators=(",", ":"))
