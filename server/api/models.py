"""Wire models shared by the JSON API."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """Base for request and response bodies: unknown fields are refused.

    A request body is also refused at the edge when it holds a NUL character, a number or a
    date no column can hold (server/bounds.py); a body whose text is a whole file to examine
    line by line (an import) sets ``names_bad_lines`` and reports such text per line itself.
    """

    model_config = ConfigDict(extra="forbid")
    names_bad_lines: ClassVar[bool] = False


class ErrorBody(WireModel):
    """A stable code for programs and a message for people."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(WireModel):
    """Every error response has this shape."""

    error: ErrorBody
