"""Build the OpenAPI 3.1 document from the registered operations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .models import ErrorResponse
from .spec import ApiRoutes, Operation, path_parameters

REF = "#/components/schemas/{model}"
Refs = dict[type[BaseModel], dict[str, Any]]


def build_openapi(route_tables: Iterable[ApiRoutes], version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document describing every typed JSON route."""
    operations = [op for table in route_tables for op in table.operations]
    schemas, refs = _component_schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path, params = path_parameters(op.path)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op, params, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "screenvisit API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "sv_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _component_schemas(operations: list[Operation]) -> tuple[dict[str, Any], Refs]:
    """Every model's schema, and the ``$ref`` pydantic chose for each (it disambiguates
    models that share a class name, so refs must come from its answer, not ``__name__``)."""
    models: set[type[BaseModel]] = {ErrorResponse}
    for op in operations:
        models.update(m for m in (op.body, op.response) if m is not None)
    ordered = sorted(models, key=lambda m: (m.__name__, m.__module__))
    keyed, doc = models_json_schema([(m, "serialization") for m in ordered], ref_template=REF)
    refs: Refs = {
        model: schema
        for (model, _mode), schema in keyed.items()
        if isinstance(model, type) and issubclass(model, BaseModel)
    }
    defs: dict[str, Any] = doc.get("$defs", {})
    return defs, refs


def _operation(op: Operation, params: list[dict[str, Any]], refs: Refs) -> dict[str, Any]:
    error = {"description": "Error", "content": _json(refs[ErrorResponse])}
    responses: dict[str, Any] = {"default": error}
    if op.response is not None:
        responses[str(op.status)] = {"description": "OK", "content": _json(refs[op.response])}
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": _operation_id(op),
        "parameters": params,
        "responses": responses,
    }
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": _json(refs[op.body])}
    operation["security"] = [] if op.public else [{"session": [], "csrf": []}]
    return operation


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation_id(op: Operation) -> str:
    path, _ = path_parameters(op.path)
    return op.method.lower() + "_" + re.sub(r"\W+", "_", path).strip("_")
