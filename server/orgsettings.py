"""An organisation's policy choices, stored in ``Organisation.settings`` (JSON), with defaults.

The one place that reads and writes them; keys other features keep in the same JSON (the
"Ring til mig" button, the first-visit-physical rule) pass through untouched.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import Forbidden, InvalidInput, NotFound
from .identity import StaffIdentity
from .models import Organisation, Staff
from .translatable import N_
from .vocabulary import Role, TabletRefusal


class RetryLadder(BaseModel):
    """What happens when a citizen does not answer: retries, then escalation."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=2, ge=0, le=5)
    delay_min: int = Field(default=5, ge=1, le=60)
    alert_team: bool = True
    create_physical_task: bool = True
    notify_relative: bool = False


class OverdueEscalation(BaseModel):
    """Who hears of an inbox item that passed its due time while still open (once)."""

    model_config = ConfigDict(extra="forbid")

    to: Literal["planners", "on_call", "nobody"] = "planners"  # planners: the team's lead role
    on_call_staff_ids: list[int] = Field(default_factory=list, max_length=50)


class Reminders(BaseModel):
    """When the citizen is reminded of a visit: the evening before and minutes before."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    evening_before: str | None = Field(default="18:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    minutes_before: list[Annotated[int, Field(ge=5, le=720)]] = Field(
        default_factory=lambda: [30], max_length=4
    )


class OrgSettings(BaseModel):
    """Settings an administrator may change; unknown keys in the stored JSON are kept aside."""

    model_config = ConfigDict(extra="forbid")

    ring_timeout_s: int = Field(default=45, ge=10, le=180)
    auto_answer_default: bool = False
    auto_answer_after_s: int = Field(default=10, ge=3, le=120)
    retry_ladder: RetryLadder = Field(default_factory=RetryLadder)
    outcome_edit_minutes: int = Field(default=15, ge=0, le=24 * 60)
    overdue: OverdueEscalation = Field(default_factory=OverdueEscalation)
    tablet_refusal: TabletRefusal = TabletRefusal.RETRY
    # A medication dose may not be moved closer than this to the plan's next or previous dose.
    medication_min_gap_h: int = Field(default=4, ge=1, le=12)
    reminders: Reminders = Field(default_factory=Reminders)
    # Relatives with the citizen's consent may ring the tablet from a personal link (never
    # auto-answered); off until an administrator turns it on.
    relatives_may_call: bool = False
    # Who may enrol and revoke a citizen's tablet (item 9 of the hardening issue): an
    # administrator always may; the organisation adds the roles it trusts with the devices.
    tablet_roles: list[Role] = Field(default_factory=lambda: [Role.ADMIN], max_length=5)

    @field_validator("tablet_roles")
    @classmethod
    def _admin_always(cls, roles: list[Role]) -> list[Role]:
        """Each role once, in a stable order, and never without the administrator."""
        return sorted({*roles, Role.ADMIN}, key=list(Role).index)


FIELDS = frozenset(OrgSettings.model_fields)


def read_settings(stored: dict[str, Any] | None) -> OrgSettings:
    """The organisation's settings with defaults for what was never set."""
    known = {k: v for k, v in (stored or {}).items() if k in FIELDS}
    return OrgSettings.model_validate(known)


# Settings added after the API's first clients: a save without them keeps them (the
# administration page sends them all).
KEPT_WHEN_UNSENT = ("reminders", "relatives_may_call", "tablet_roles")


def merged(stored: dict[str, Any] | None, new: OrgSettings) -> dict[str, Any]:
    """The JSON to store: ``new`` over the old, keeping keys other features own."""
    old = stored or {}
    values = new.model_dump()
    for name in KEPT_WHEN_UNSENT:
        if name not in new.model_fields_set and name in old:
            values[name] = old[name]
    return {**old, **values}


DEFAULTS = OrgSettings()


async def stored_settings(session: AsyncSession, organisation_id: int) -> dict[str, Any]:
    """The organisation's settings JSON as stored (empty when it has none or does not exist)."""
    stored = await session.scalar(
        select(Organisation.settings).where(Organisation.id == organisation_id)
    )
    return dict(stored or {})


async def load(session: AsyncSession, organisation_id: int) -> OrgSettings:
    """The organisation's settings with defaults."""
    return read_settings(await stored_settings(session, organisation_id))


async def load_many(session: AsyncSession, organisation_ids: set[int]) -> dict[int, OrgSettings]:
    """Each organisation's settings, in one query."""
    if not organisation_ids:
        return {}
    rows = await session.execute(
        select(Organisation.id, Organisation.settings).where(Organisation.id.in_(organisation_ids))
    )
    return {org_id: read_settings(stored) for org_id, stored in rows}


async def save(session: AsyncSession, organisation_id: int, new: OrgSettings) -> OrgSettings:
    """Store new settings, keeping keys other features keep in the same JSON."""
    org = await session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(N_("Organisationen findes ikke."))
    await _check_on_call(session, organisation_id, new.overdue.on_call_staff_ids)
    org.settings = merged(org.settings, new)
    return new


class TabletRoleRefused(Forbidden):
    """The organisation lets other roles than the caller's enrol and revoke tablets."""

    code = "tablet_role_refused"
    default_message = N_(
        "Din organisation lader kun bestemte roller tilknytte og spærre tablets. "
        "Bed en administrator om hjælp."
    )


async def may_manage_tablets(session: AsyncSession, identity: StaffIdentity) -> bool:
    """Whether the organisation lets the caller's role enrol and revoke tablets."""
    return identity.role in (await load(session, identity.organisation_id)).tablet_roles


async def require_tablet_role(session: AsyncSession, identity: StaffIdentity) -> None:
    """Raise unless the organisation lets the caller's role enrol and revoke tablets."""
    if not await may_manage_tablets(session, identity):
        raise TabletRoleRefused()


async def _check_on_call(session: AsyncSession, organisation_id: int, ids: list[int]) -> None:
    """The on-call list names active staff of the organisation, each once."""
    if not ids:
        return
    found = set(
        await session.scalars(
            select(Staff.id).where(
                Staff.id.in_(ids), Staff.organisation_id == organisation_id, Staff.active.is_(True)
            )
        )
    )
    unknown = sorted(set(ids) - found)
    if unknown or len(set(ids)) != len(ids):
        raise InvalidInput(
            N_("Vagtlisten skal nævne aktive medarbejdere i organisationen, hver kun én gang."),
            details={"field": "overdue.on_call_staff_ids", "unknown": unknown},
        )


# Guided scripts (``visits/guides.py``) keep an organisation's own script per visit-type code
# under this key; the settings above never touch it.
GUIDES_KEY = "guides"


async def stored_guides(session: AsyncSession, organisation_id: int) -> dict[str, Any]:
    """The organisation's own guided scripts as stored, by visit-type code (unvalidated)."""
    guides = (await stored_settings(session, organisation_id)).get(GUIDES_KEY)
    return dict(guides) if isinstance(guides, dict) else {}


async def store_guide(
    session: AsyncSession, organisation_id: int, code: str, script: dict[str, Any] | None
) -> None:
    """Keep ``script`` as the organisation's own for ``code``; ``None`` forgets it."""
    org = await session.get(Organisation, organisation_id, with_for_update=True)
    if org is None:
        raise NotFound()
    stored = org.settings or {}
    kept = stored.get(GUIDES_KEY)
    guides = dict(kept) if isinstance(kept, dict) else {}
    if script is None:
        guides.pop(code, None)
    else:
        guides[code] = script
    # A new dict, so the JSON column sees the change.
    org.settings = {**stored, GUIDES_KEY: guides}
