"""A citizen's relatives (pårørende): add, edit, remove, and what each may do.

Removing a relative keeps the row (``removed_at``) for the history and withdraws their
consents. What a relative may do is not stored here: each permission is a relative consent in
the register (`server.citizens.consents`), granted and withdrawn through it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit, orgsettings
from ..errors import Conflict
from ..identity import StaffIdentity
from ..models import Citizen, Relative
from ..translatable import N_
from ..vocabulary import ConsentKind
from . import consents
from .agreements import PHONE
from .consents import Author, ConsentEntry, ConsentInput, Giver, StaffName, Unprocessable

# The permissions a relative may be given, each backed by one relative consent kind.
PERMISSIONS: dict[str, ConsentKind] = {
    "join_meetings": ConsentKind.RELATIVE_JOIN,
    "call": ConsentKind.RELATIVE_CALL,
    "see_agreements": ConsentKind.RELATIVE_AGREEMENTS,
    "be_notified": ConsentKind.NOTIFY_RELATIVE,
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELDS = ("name", "relation", "phone", "email")


class NameRequired(Unprocessable):
    """A relative needs a name."""

    code = "name_required"
    default_message = N_("Skriv den pårørendes navn.")


class RelationRequired(Unprocessable):
    """A relative needs a relation to the citizen (datter, søn, nabo...)."""

    code = "relation_required"
    default_message = N_("Skriv, hvordan den pårørende er i familie med borgeren.")


class InvalidPhone(Unprocessable):
    """The phone is not a phone number."""

    code = "invalid_phone"
    default_message = N_("Telefonnummeret må kun have cifre, mellemrum, '-' og et '+' forrest.")


class InvalidEmail(Unprocessable):
    """The e-mail address does not look like one."""

    code = "invalid_email"
    default_message = N_("E-mailadressen er ikke gyldig.")


class UnknownPermission(Unprocessable):
    """Not one of the permissions a relative may be given."""

    code = "invalid_permission"
    default_message = N_(
        "Ukendt tilladelse; brug join_meetings, call, see_agreements eller be_notified."
    )


class RelativeRemoved(Conflict):
    """The relative was removed; they are history now."""

    code = "relative_removed"
    default_message = N_("Den pårørende er fjernet.")


@dataclass(frozen=True, slots=True)
class RelativeInput:
    """Who the relative is; blank strings are already None."""

    name: str | None
    relation: str | None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PermissionChange:
    """Permissions to grant (True) or withdraw (False), and who gave or withdrew them."""

    permissions: dict[str, bool]
    given_by: Giver
    note: str | None = None


def _check(data: RelativeInput) -> None:
    if not data.name:
        raise NameRequired()
    if not data.relation:
        raise RelationRequired()
    if data.phone is not None and not PHONE.match(data.phone):
        raise InvalidPhone()
    if data.email is not None and not EMAIL.match(data.email):
        raise InvalidEmail()


def _audit(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    action: str,
    relative: Relative,
    detail: dict[str, Any],
) -> None:
    if not author.audited:
        return
    event = audit.record(
        session,
        action,
        actor=author.actor,
        subject=("relative", relative.id),
        detail={"citizen_id": citizen.id} | detail,
        request=author.request,
    )
    event.organisation_id = citizen.organisation_id


async def add(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    data: RelativeInput,
    now: dt.datetime,
) -> Relative:
    """A new relative with no permissions yet (grant them with `set_permissions`)."""
    _check(data)
    relative = Relative(
        citizen_id=citizen.id,
        name=data.name,
        relation=data.relation,
        phone=data.phone,
        email=data.email,
        created_at=now,
    )
    session.add(relative)
    await session.flush()
    _audit(session, author, citizen, "relative.add", relative, {"name": relative.name})
    return relative


async def edit(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    relative: Relative,
    data: RelativeInput,
) -> Relative:
    """Replace who the relative is (name, relation, phone, e-mail); audits the fields changed."""
    if relative.removed_at is not None:
        raise RelativeRemoved()
    _check(data)
    changed = [f for f in FIELDS if getattr(relative, f) != getattr(data, f)]
    for field in changed:
        setattr(relative, field, getattr(data, field))
    await session.flush()
    _audit(session, author, citizen, "relative.edit", relative, {"changed": changed})
    return relative


async def remove(
    session: AsyncSession, author: Author, citizen: Citizen, relative: Relative, now: dt.datetime
) -> Relative:
    """No longer a relative on file: kept for the history, every consent of theirs withdrawn."""
    if relative.removed_at is not None:
        raise RelativeRemoved()
    relative.removed_at = now
    withdrawn = await consents.withdraw_for_relative(session, author, citizen, relative, now)
    _audit(session, author, citizen, "relative.remove", relative, {"withdrawn": withdrawn})
    return relative


async def set_permissions(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    relative: Relative,
    change: PermissionChange,
    now: dt.datetime,
) -> Relative:
    """Grant or withdraw permissions, each as the relative consent behind it.

    A permission already as asked is left alone, so its consent keeps its history.
    """
    if relative.removed_at is not None:
        raise RelativeRemoved()
    if unknown := set(change.permissions) - set(PERMISSIONS):
        raise UnknownPermission(details={"unknown": sorted(unknown)})
    for name, granted in change.permissions.items():
        kind = PERMISSIONS[name]
        current = await consents.active_kind(session, relative, kind)
        if granted and current is None:
            new = ConsentInput(kind, change.given_by, {}, relative.id, change.note)
            await consents.record(session, author, citizen, new, now)
        elif not granted and current is not None:
            await consents.withdraw(session, author, citizen, current, change.given_by, now)
    return relative


async def relatives_of(session: AsyncSession, citizen_id: int) -> list[Relative]:
    """The citizen's relatives, current ones first, then the removed (by name)."""
    rows = await session.scalars(
        select(Relative)
        .where(Relative.citizen_id == citizen_id)
        .order_by(Relative.removed_at.is_not(None), Relative.name, Relative.id)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class RegisterView:
    """The consent register and the relatives, as the citizen page and the API show them."""

    consents: list[ConsentEntry]  # newest first, withdrawn ones included
    relatives: list[Relative]  # current ones first, then the removed
    may_write: bool
    suggested_auto_answer: bool  # the organisation's auto_answer_default
    callers: list[StaffName]  # whom an auto-answer consent may name


async def register_view(
    session: AsyncSession, identity: StaffIdentity, citizen: Citizen
) -> RegisterView:
    """Everything the consent and relative forms need (access already checked)."""
    settings = await orgsettings.load(session, citizen.organisation_id)
    return RegisterView(
        consents=await consents.history(session, citizen.id),
        relatives=await relatives_of(session, citizen.id),
        may_write=consents.may_write(identity, citizen),
        suggested_auto_answer=settings.auto_answer_default,
        callers=await consents.care_staff(session, citizen),
    )
