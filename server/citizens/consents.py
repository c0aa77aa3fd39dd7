"""The consent register: the one writer of consents, with their history.

A consent row is never changed except to withdraw it. A citizen has at most one active consent
of each kind (per relative for the relative kinds): recording one again withdraws the old one in
the same transaction (its ``withdrawn_by`` names the consent that replaced it), so the history
is a chain. Every write is audited here, with the change.

What a relative may do (join meetings, call the tablet, see agreements, be notified) is a
relative consent, so the register is the one source of truth. The ``Relative.may_*`` flags are a
derived cache for older readers (the citizen overview, the ladder's notice query): only
`_sync_relative` writes them, in the same transaction as the consent change.

Who gave or withdrew a consent is stored as text in ``granted_by``/``withdrawn_by``: a kind
(``citizen``, ``relative``, ``guardian``, ``other``) and a name, as ``"relative:Ida Sørensen"``
(see `Giver`); rows written before the register hold free text, read as kind ``other``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit
from ..bounds import LocalTime
from ..errors import Conflict, Forbidden, InvalidInput
from ..identity import StaffIdentity
from ..models import Citizen, Consent, ContactPerson, Relative, Staff, TeamMembership
from ..translatable import N_
from ..vocabulary import CallerGroup, ConsentKind
from .agreements import may_write as _may_write_record

CITIZEN_KINDS = frozenset({ConsentKind.SCREEN_VISITS, ConsentKind.AUTO_ANSWER})
# A relative consent and the cached flag on the relative that mirrors it.
RELATIVE_FLAGS: dict[ConsentKind, str] = {
    ConsentKind.RELATIVE_JOIN: "may_join_meetings",
    ConsentKind.RELATIVE_CALL: "may_call",
    ConsentKind.RELATIVE_AGREEMENTS: "may_see_agreements",
    ConsentKind.NOTIFY_RELATIVE: "may_be_notified",
}
MAX_WINDOWS = 14
MAX_NAME = 120


class Unprocessable(InvalidInput):
    """Well-formed JSON whose content the register refuses (422)."""

    status = 422


class BadKind(Unprocessable):
    """The kind is not one the register knows."""

    code = "invalid_consent_kind"
    default_message = N_("Ukendt slags samtykke.")


class InvalidScope(Unprocessable):
    """The scope does not fit the kind (details list each problem)."""

    code = "invalid_scope"
    default_message = N_("Samtykkets rammer er ikke gyldige.")


class RelativeRequired(Unprocessable):
    """A relative consent must name the relative it is for."""

    code = "relative_required"
    default_message = N_("Vælg den pårørende, samtykket gælder.")


class RelativeNotAllowed(Unprocessable):
    """Screen visits and auto-answer are the citizen's own consents, not a relative's."""

    code = "relative_not_allowed"
    default_message = N_("Dette samtykke er borgerens eget og nævner ingen pårørende.")


class BadRelative(Unprocessable):
    """The relative is not one of this citizen's current relatives."""

    code = "invalid_relative"
    default_message = N_("Den pårørende hører ikke til denne borger.")


class GiverRequired(Unprocessable):
    """Who gave (or withdrew) the consent must be said; a relative or guardian by name."""

    code = "given_by_required"
    default_message = N_("Skriv, hvem der gav samtykket; en pårørende eller en værge med navn.")


class AlreadyWithdrawn(Conflict):
    """The consent was withdrawn already (perhaps by a colleague just now)."""

    code = "consent_already_withdrawn"
    default_message = N_("Samtykket er allerede trukket tilbage.")


class MayNotWrite(Forbidden):
    """Reading is allowed, recording is not (a carer, or a nurse of another team)."""

    code = "consents_write_forbidden"
    default_message = N_(
        "Kun visitatorer, planlæggere, administratorer og teamets sygeplejersker "
        "registrerer samtykker."
    )


class GiverKind(enum.StrEnum):
    """Who gave or withdrew a consent; the last two are written by the register itself."""

    CITIZEN = "citizen"
    RELATIVE = "relative"
    GUARDIAN = "guardian"
    OTHER = "other"
    REPLACED = "replaced"  # withdrawn because a new consent of the kind was recorded
    RELATIVE_REMOVED = "relative_removed"  # withdrawn because the relative was removed


PERSON_KINDS = frozenset({GiverKind.CITIZEN, GiverKind.RELATIVE, GiverKind.GUARDIAN})


@dataclass(frozen=True, slots=True)
class Giver:
    """Who gave or withdrew a consent: a kind and, except for the citizen, a name."""

    kind: GiverKind
    name: str | None = None

    def stored(self) -> str:
        """The text kept in ``granted_by``/``withdrawn_by``."""
        return f"{self.kind}:{self.name}" if self.name else self.kind.value

    @classmethod
    def parse(cls, raw: str) -> Giver:
        """Read the stored text back; free text from before the register is kind ``other``."""
        head, sep, name = raw.partition(":")
        if head in GiverKind.__members__.values():
            return cls(GiverKind(head), name or None if sep else None)
        if raw.strip().lower() in {"borger", "borgeren", "citizen"}:
            return cls(GiverKind.CITIZEN)
        return cls(GiverKind.OTHER, raw)


def check_giver(giver: Giver) -> Giver:
    """A person gives and withdraws consents; anyone but the citizen is named."""
    name = (giver.name or "").strip() or None
    if giver.kind not in PERSON_KINDS | {GiverKind.OTHER}:
        raise GiverRequired(
            N_("Skriv, om borgeren, en pårørende, en værge eller en anden gav det.")
        )
    if giver.kind is not GiverKind.CITIZEN and name is None:
        raise GiverRequired()
    if name is not None and len(name) > MAX_NAME:
        raise GiverRequired(N_("Navnet må højst være {n} tegn.", n=MAX_NAME))
    return Giver(giver.kind, name)


class ConsentWindow(BaseModel):
    """A daily window in the organisation's time zone, on some weekdays (0 = Monday)."""

    model_config = ConfigDict(extra="forbid")

    start: LocalTime
    end: LocalTime
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1)

    @model_validator(mode="after")
    def _sensible(self) -> ConsentWindow:
        if self.start == self.end:
            raise ValueError("a window needs different start and end times")
        if any(not 0 <= d <= 6 for d in self.weekdays) or len(set(self.weekdays)) != len(
            self.weekdays
        ):
            raise ValueError("weekdays are distinct numbers 0 (Monday) to 6 (Sunday)")
        return self


class AutoAnswerScope(BaseModel):
    """When and for whom the tablet may answer by itself; no windows means any time."""

    model_config = ConfigDict(extra="forbid")

    windows: list[ConsentWindow] = Field(default_factory=list, max_length=MAX_WINDOWS)
    callers: list[CallerGroup] = Field(default_factory=list)
    staff_ids: list[int] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _names_someone(self) -> AutoAnswerScope:
        if not (self.callers or self.staff_ids):
            raise ValueError("name the callers: contact persons, the team and/or named staff")
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON kept in ``Consent.scope`` (times as HH:MM, as the live-call store reads)."""
        return {
            "windows": [
                {
                    "start": w.start.strftime("%H:%M"),
                    "end": w.end.strftime("%H:%M"),
                    "weekdays": sorted(w.weekdays),
                }
                for w in self.windows
            ],
            "callers": sorted({c.value for c in self.callers}),
            "staff_ids": sorted(set(self.staff_ids)),
        }


@dataclass(frozen=True, slots=True)
class Author:
    """Who records a change: a staff member (with their request, for the address) or the
    system (the demo, an import)."""

    actor: StaffIdentity | str
    request: web.Request | None = None
    # Only the demo seed writes unaudited: it is nobody's act, and its log starts empty.
    audited: bool = True

    @property
    def staff_id(self) -> int | None:
        """The recording staff member, if a person."""
        return self.actor.staff_id if isinstance(self.actor, StaffIdentity) else None


@dataclass(frozen=True, slots=True)
class ConsentInput:
    """A consent to record; ``kind`` is still unchecked text from the caller."""

    kind: str
    given_by: Giver
    scope: dict[str, Any]
    relative_id: int | None = None
    note: str | None = None


def may_write(identity: StaffIdentity, citizen: Citizen) -> bool:
    """Those who record at the start-up meeting: visitators, planners, administrators of the
    organisation and nurses of the citizen's team (the agreement sheets' writers)."""
    return _may_write_record(identity, citizen)


def parse_kind(raw: str) -> ConsentKind:
    """The consent kind named by ``raw``; raises BadKind."""
    try:
        return ConsentKind(raw)
    except ValueError:
        raise BadKind(N_("Ukendt slags samtykke: {kind}.", kind=raw)) from None


async def record(
    session: AsyncSession, author: Author, citizen: Citizen, data: ConsentInput, now: dt.datetime
) -> Consent:
    """Record a consent; an active one of the same kind (and relative) is replaced."""
    kind = parse_kind(data.kind)
    scope = await _checked_scope(session, citizen, kind, data.scope)
    relative = await _relative_for(session, citizen, kind, data.relative_id)
    giver = check_giver(data.given_by)
    await _lock_citizen(session, citizen.id)
    previous = await _active(session, citizen.id, kind, data.relative_id)
    consent = Consent(
        citizen_id=citizen.id,
        kind=kind,
        scope=scope,
        granted_by=giver.stored(),
        granted_at=now,
        recorded_by_staff_id=author.staff_id,
        relative_id=relative.id if relative else None,
        note=(data.note or "").strip() or None,
    )
    session.add(consent)
    await session.flush()
    for old in previous:
        _close(old, Giver(GiverKind.REPLACED, str(consent.id)), author, now)
    if relative is not None:
        await _sync_relative(session, relative)
    detail = {
        "consent": consent.id,
        "kind": kind.value,
        "relative_id": consent.relative_id,
        "granted_by": consent.granted_by,
        "scope": scope,
        "replaced": [old.id for old in previous],
    }
    _audit(session, author, citizen, "consent.record", detail)
    return consent


async def withdraw(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    consent: Consent,
    by: Giver,
    now: dt.datetime,
) -> Consent:
    """Withdraw an active consent, saying who withdrew it; the row stays as history."""
    return await _withdraw(session, author, citizen, consent, check_giver(by), now)


async def _withdraw(
    session: AsyncSession,
    author: Author,
    citizen: Citizen,
    consent: Consent,
    by: Giver,
    now: dt.datetime,
) -> Consent:
    if consent.withdrawn_at is not None:
        raise AlreadyWithdrawn()
    _close(consent, by, author, now)
    if consent.relative_id is not None:
        relative = await session.get_one(Relative, consent.relative_id)
        await _sync_relative(session, relative)
    detail = {
        "consent": consent.id,
        "kind": consent.kind.value,
        "relative_id": consent.relative_id,
        "withdrawn_by": consent.withdrawn_by,
    }
    _audit(session, author, citizen, "consent.withdraw", detail)
    return consent


async def withdraw_for_relative(
    session: AsyncSession, author: Author, citizen: Citizen, relative: Relative, now: dt.datetime
) -> list[int]:
    """Withdraw every active consent of a relative who is being removed; their ids."""
    active = await session.scalars(
        select(Consent).where(Consent.relative_id == relative.id, Consent.withdrawn_at.is_(None))
    )
    ids = []
    removed = Giver(GiverKind.RELATIVE_REMOVED)
    for consent in list(active):
        await _withdraw(session, author, citizen, consent, removed, now)
        ids.append(consent.id)
    await _sync_relative(session, relative)
    return ids


def _close(consent: Consent, by: Giver, author: Author, now: dt.datetime) -> None:
    consent.withdrawn_at = now
    consent.withdrawn_by = by.stored()
    consent.withdrawn_by_staff_id = author.staff_id


def _audit(
    session: AsyncSession, author: Author, citizen: Citizen, action: str, detail: dict[str, Any]
) -> None:
    if not author.audited:
        return
    event = audit.record(
        session,
        action,
        actor=author.actor,
        subject=("citizen", citizen.id),
        detail=detail,
        request=author.request,
    )
    event.organisation_id = citizen.organisation_id


async def _lock_citizen(session: AsyncSession, citizen_id: int) -> None:
    """Serialise consent writes for one citizen (PostgreSQL), so two recordings at once
    cannot leave two active consents of a kind."""
    await session.execute(select(Citizen.id).where(Citizen.id == citizen_id).with_for_update())


async def _active(
    session: AsyncSession, citizen_id: int, kind: ConsentKind, relative_id: int | None
) -> list[Consent]:
    query = select(Consent).where(Consent.citizen_id == citizen_id, Consent.in_force(kind))
    if kind in RELATIVE_FLAGS:
        query = query.where(Consent.relative_id == relative_id)
    return list(await session.scalars(query.order_by(Consent.id)))


async def active_kind(
    session: AsyncSession, relative: Relative, kind: ConsentKind
) -> Consent | None:
    """The relative's active consent of ``kind``, if any."""
    found: Consent | None = await session.scalar(
        select(Consent).where(
            Consent.relative_id == relative.id,
            Consent.in_force(kind),
        )
    )
    return found


async def _relative_for(
    session: AsyncSession, citizen: Citizen, kind: ConsentKind, relative_id: int | None
) -> Relative | None:
    if kind in CITIZEN_KINDS:
        if relative_id is not None:
            raise RelativeNotAllowed()
        return None
    if relative_id is None:
        raise RelativeRequired()
    relative = await session.get(Relative, relative_id)
    if relative is None or relative.citizen_id != citizen.id or relative.removed_at is not None:
        raise BadRelative()
    return relative


async def _checked_scope(
    session: AsyncSession, citizen: Citizen, kind: ConsentKind, raw: dict[str, Any]
) -> dict[str, Any]:
    """The scope to store: auto-answer's is validated; every other kind has none."""
    if kind is not ConsentKind.AUTO_ANSWER:
        if raw:
            raise InvalidScope(N_("Kun et samtykke til automatisk svar har rammer."))
        return {}
    try:
        scope = AutoAnswerScope.model_validate(raw)
    except ValidationError as exc:
        problems = _problems(exc)
        raise InvalidScope(details=problems) from None
    await _check_named_staff(session, citizen, scope.staff_ids)
    return scope.stored()


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as location and message (never the input)."""
    return [
        {"loc": [str(part) for part in err["loc"]], "msg": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def _check_named_staff(session: AsyncSession, citizen: Citizen, ids: list[int]) -> None:
    """Named callers are active staff of the citizen's team or its contact persons: only they
    ring with a care relation, which auto-answer needs as well."""
    if not ids:
        return
    found = set(await session.scalars(_care_staff(citizen).where(Staff.id.in_(ids))))
    unknown = sorted(set(ids) - found)
    if unknown:
        raise InvalidScope(
            N_(
                "De navngivne opkaldere skal være medarbejdere i borgerens team "
                "eller kontaktpersoner."
            ),
            details=[{"loc": ["staff_ids"], "msg": "not on the team", "unknown": unknown}],
        )


def _care_staff(citizen: Citizen) -> Any:
    """Active staff of the citizen's team, and its contact persons."""
    on_team = select(TeamMembership.staff_id).where(TeamMembership.team_id == citizen.team_id)
    contacts = select(ContactPerson.staff_id).where(ContactPerson.citizen_id == citizen.id)
    return select(Staff.id).where(
        Staff.organisation_id == citizen.organisation_id,
        Staff.active.is_(True),
        Staff.id.in_(on_team) | Staff.id.in_(contacts),
    )


async def _sync_relative(session: AsyncSession, relative: Relative) -> None:
    """Write the relative's cached permission flags from their active consents."""
    await session.flush()
    kinds = set(
        await session.scalars(
            select(Consent.kind).where(
                Consent.relative_id == relative.id, Consent.withdrawn_at.is_(None)
            )
        )
    )
    for kind, flag in RELATIVE_FLAGS.items():
        setattr(relative, flag, kind in kinds and relative.removed_at is None)


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One consent in the history, with the people it names resolved."""

    id: int
    kind: str
    relative_id: int | None
    relative_name: str | None
    scope: dict[str, Any]
    given_by: Giver
    granted_at: dt.datetime
    recorded_by: str | None
    note: str | None
    withdrawn_at: dt.datetime | None
    withdrawn_by: Giver | None
    withdrawn_by_staff: str | None

    @property
    def active(self) -> bool:
        """Not withdrawn."""
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class StaffName:
    """A staff member who may be named as an auto-answer caller."""

    id: int
    name: str


async def history(session: AsyncSession, citizen_id: int) -> list[ConsentEntry]:
    """Every consent of the citizen, newest first, withdrawn ones included."""
    rows = list(
        await session.scalars(
            select(Consent)
            .where(Consent.citizen_id == citizen_id)
            .order_by(Consent.granted_at.desc(), Consent.id.desc())
        )
    )
    staff_ids = {c.recorded_by_staff_id for c in rows} | {c.withdrawn_by_staff_id for c in rows}
    staff = await _names(session, Staff, {i for i in staff_ids if i is not None})
    relative_ids = {c.relative_id for c in rows if c.relative_id is not None}
    relatives = await _names(session, Relative, relative_ids)
    return [_entry(c, staff, relatives) for c in rows]


def _entry(c: Consent, staff: dict[int, str], relatives: dict[int, str]) -> ConsentEntry:
    return ConsentEntry(
        id=c.id,
        kind=c.kind.value,
        relative_id=c.relative_id,
        relative_name=relatives.get(c.relative_id) if c.relative_id else None,
        scope=c.scope or {},
        given_by=Giver.parse(c.granted_by),
        granted_at=c.granted_at,
        recorded_by=staff.get(c.recorded_by_staff_id) if c.recorded_by_staff_id else None,
        note=c.note,
        withdrawn_at=c.withdrawn_at,
        withdrawn_by=Giver.parse(c.withdrawn_by) if c.withdrawn_by else None,
        withdrawn_by_staff=staff.get(c.withdrawn_by_staff_id) if c.withdrawn_by_staff_id else None,
    )


async def _names(
    session: AsyncSession, model: type[Staff] | type[Relative], ids: set[int]
) -> dict[int, str]:
    if not ids:
        return {}
    column = Staff.display_name if model is Staff else Relative.name
    rows = await session.execute(select(model.id, column).where(model.id.in_(ids)))
    return {row_id: name for row_id, name in rows}


async def care_staff(session: AsyncSession, citizen: Citizen) -> list[StaffName]:
    """Whom an auto-answer consent may name: the team's active staff and contact persons."""
    rows = await session.execute(
        select(Staff.id, Staff.display_name)
        .where(Staff.id.in_(_care_staff(citizen)))
        .order_by(Staff.display_name)
    )
    return [StaffName(i, n) for i, n in rows]
