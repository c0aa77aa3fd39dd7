"""Wire models shared by the JSON API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """Base for request and response bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(WireModel):
    """A stable code for programs and a message for people."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(WireModel):
    """Every error response has this shape."""

    error: ErrorBody
