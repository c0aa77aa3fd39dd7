"""Guided scripts for the call view: one per visit type, in Danish and English.

A script is what the nurse reads beside the video: a short intro, ordered steps (``confirm``
steps are checkboxes whose ticks are stored with the outcome as its checklist; ``prompt`` steps
are things to say or ask), an optional note, an optional measurement field and, for
conversations, the dignity wheel's themes.

The defaults live in code (``guide_defaults.py``). An administrator may replace the script of
any visit type of the organisation; the replacement is kept in the organisation's settings JSON
(``orgsettings``) under the visit type's code and overrides the default until it is reset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import orgsettings
from ..errors import NotFound
from ..models import VisitType
from ..translatable import N_
from .guide_defaults import DEFAULT_SCRIPTS, GENERAL_SCRIPT
from .outcomes import CHECKLIST_MAX_STEPS, CHECKLIST_TEXT_MAX

logger = logging.getLogger(__name__)

# A confirmed step is stored with the outcome, so steps fit the checklist's bounds.
MAX_STEPS = min(15, CHECKLIST_MAX_STEPS)
STEP_MAX = CHECKLIST_TEXT_MAX
PARAGRAPH_MAX = 600

Line = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=STEP_MAX, pattern=r"^[^\r\n]*$"
    ),
]
Paragraph = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PARAGRAPH_MAX)
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepText(_Frozen):
    """A step's words in both languages (one line each)."""

    da: Line
    en: Line

    def in_language(self, language: str) -> str:
        """English for ``en``, else Danish (the source language)."""
        return self.en if language == "en" else self.da


class Text(_Frozen):
    """A paragraph in both languages."""

    da: Paragraph
    en: Paragraph

    def in_language(self, language: str) -> str:
        """English for ``en``, else Danish (the source language)."""
        return self.en if language == "en" else self.da


class Step(_Frozen):
    """One step: ``confirm`` is ticked by the nurse and stored; ``prompt`` is said or asked."""

    kind: Literal["confirm", "prompt"]
    text: StepText


class Script(_Frozen):
    """A visit type's guided script."""

    intro: Text
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    note: Text | None = None
    # A measurement typed during the call; ``blood_sugar`` is stored as that observation.
    measurement: Literal["blood_sugar"] | None = None
    # Show the six themes of the dignity wheel (Værdighedshjulet) as conversation prompts.
    dignity_wheel: bool = False


class UnknownVisitType(NotFound):
    """The organisation has no visit type with that code."""

    code = "unknown_visit_type"
    default_message = N_("Organisationen har ingen besøgstype med den kode.")


@dataclass(frozen=True, slots=True)
class Guide:
    """A visit type of the organisation with the script the call view shows for it."""

    code: str
    name_da: str
    name_en: str
    script: Script
    customised: bool


# The built-in scripts, validated by the same rules as an administrator's.
DEFAULTS = {code: Script.model_validate(raw) for code, raw in DEFAULT_SCRIPTS.items()}
GENERAL = Script.model_validate(GENERAL_SCRIPT)


def default_script(code: str | None) -> Script:
    """The built-in script for a visit type; the general one for any other code."""
    return DEFAULTS.get(code or "", GENERAL)


def script_from(stored: dict[str, Any], code: str | None) -> tuple[Script, bool]:
    """The organisation's script for ``code`` and whether it is its own (pure).

    A stored script that no longer validates (written by an older version) is ignored.
    """
    raw = stored.get(code or "")
    if raw is not None:
        try:
            return Script.model_validate(raw), True
        except ValidationError:
            logger.warning("stored guide for visit type %r is not valid; using the default", code)
    return default_script(code), False


async def script_for(session: AsyncSession, organisation_id: int, code: str | None) -> Script:
    """The script the call view shows for a visit of this type (general without a visit)."""
    if code is None:
        return default_script(None)
    stored = await orgsettings.stored_guides(session, organisation_id)
    return script_from(stored, code)[0]


async def guides(session: AsyncSession, organisation_id: int) -> list[Guide]:
    """Every visit type of the organisation with its current script."""
    stored = await orgsettings.stored_guides(session, organisation_id)
    types = await session.scalars(
        select(VisitType).where(VisitType.organisation_id == organisation_id).order_by(VisitType.id)
    )
    return [_guide(t, *script_from(stored, t.code)) for t in types]


async def guide(session: AsyncSession, organisation_id: int, code: str) -> Guide:
    """One visit type's script; ``UnknownVisitType`` when the organisation has no such type."""
    vtype = await _visit_type(session, organisation_id, code)
    stored = await orgsettings.stored_guides(session, organisation_id)
    return _guide(vtype, *script_from(stored, code))


async def save(session: AsyncSession, organisation_id: int, code: str, script: Script) -> Guide:
    """Store the organisation's own script for a visit type."""
    vtype = await _visit_type(session, organisation_id, code)
    await orgsettings.store_guide(session, organisation_id, code, script.model_dump(mode="json"))
    return _guide(vtype, script, True)


async def reset(session: AsyncSession, organisation_id: int, code: str) -> Guide:
    """Forget the organisation's own script: the default applies again."""
    vtype = await _visit_type(session, organisation_id, code)
    await orgsettings.store_guide(session, organisation_id, code, None)
    return _guide(vtype, default_script(code), False)


async def _visit_type(session: AsyncSession, organisation_id: int, code: str) -> VisitType:
    vtype = await session.scalar(
        select(VisitType).where(
            VisitType.organisation_id == organisation_id, VisitType.code == code
        )
    )
    if vtype is None:
        raise UnknownVisitType()
    return vtype


def _guide(vtype: VisitType, script: Script, customised: bool) -> Guide:
    return Guide(vtype.code, vtype.name_da, vtype.name_en, script, customised)
