"""An organisation's policy choices, stored in ``Organisation.settings`` (JSON), with defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RetryLadder(BaseModel):
    """What happens when a citizen does not answer: retries, then escalation."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=2, ge=0, le=5)
    delay_min: int = Field(default=5, ge=1, le=60)
    alert_team: bool = True
    create_physical_task: bool = True
    notify_relative: bool = False


class OrgSettings(BaseModel):
    """Settings an administrator may change; unknown keys in the stored JSON are kept aside."""

    model_config = ConfigDict(extra="forbid")

    ring_timeout_s: int = Field(default=45, ge=10, le=180)
    auto_answer_default: bool = False
    auto_answer_after_s: int = Field(default=10, ge=3, le=120)
    retry_ladder: RetryLadder = Field(default_factory=RetryLadder)
    outcome_edit_minutes: int = Field(default=15, ge=0, le=24 * 60)


FIELDS = frozenset(OrgSettings.model_fields)


def read_settings(stored: dict[str, Any] | None) -> OrgSettings:
    """The organisation's settings with defaults for what was never set."""
    known = {k: v for k, v in (stored or {}).items() if k in FIELDS}
    return OrgSettings.model_validate(known)


def merged(stored: dict[str, Any] | None, new: OrgSettings) -> dict[str, Any]:
    """The JSON to store: ``new`` over the old, keeping keys other features own."""
    return {**(stored or {}), **new.model_dump()}
