"""Who may ring whom, who may be added to a call, and when a kiosk answers by itself.

Pure functions over plain frozen facts that the handler loads from the database; no ORM
objects, no clock (the caller passes `now`), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from enum import StrEnum

from server.rooms.registry import DEFAULT_MAX_PARTICIPANTS
from server.visits.status import Window
from server.vocabulary import CallerGroup, PeerKind, Role

DEFAULT_AUTO_ANSWER_S = 10
MAX_AUTO_ANSWER_S = 120
ALL_WEEKDAYS = frozenset(range(7))


# Field staff reach their own citizens; the authority's roles work across the organisation.
CARE_ROLES = frozenset({Role.NURSE, Role.CARER})
ORG_ROLES = frozenset({Role.VISITATOR, Role.PLANNER, Role.ADMIN})


class JoinVerdict(StrEnum):
    """Outcome of `may_join`; the refusals double as signalling error codes."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    ROOM_FULL = "room_full"


@dataclass(frozen=True, slots=True)
class CallerFacts:
    """The authenticated peer that wants to ring, invite or join."""

    kind: PeerKind
    user_id: str  # staff user id; the kiosk or guest id for other kinds
    org_id: str
    role: Role | None = None
    team_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CitizenFacts:
    """The citizen being called, with the relations that grant access."""

    citizen_id: str
    org_id: str
    team_id: str | None = None  # the citizen's fixed team
    contact_person_ids: frozenset[str] = frozenset()
    screen_visits_consent: bool = False


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily window in local time, e.g. 07:00–09:00 on weekdays; may cross midnight."""

    start: time
    end: time
    weekdays: frozenset[int] = ALL_WEEKDAYS  # 0 = Monday, as datetime.weekday()

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a time window needs different start and end")
        if not self.weekdays <= ALL_WEEKDAYS:
            raise ValueError(f"weekdays must be within 0..6, got {sorted(self.weekdays)}")

    def contains(self, local: datetime) -> bool:
        """True if the local moment falls in the window (the weekday is the moment's own)."""
        moment = local.time().replace(tzinfo=None)
        if local.weekday() not in self.weekdays:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """The citizen's stored auto-answer consent and its scope.

    Whom it covers: ``callers`` (groups) and ``staff_ids`` (named staff) together form the
    permitted set; when neither is given (``callers`` None and no ``staff_ids``) any caller with
    a care relation is covered. A group name this code does not know covers nobody. The older
    ``caller_ids``/``caller_roles`` keys narrow further when a stored scope still has them.
    """

    granted_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    windows: tuple[TimeWindow, ...] = ()  # empty: any time of day
    callers: frozenset[str] | None = None  # CallerGroup values; None: not limited by group
    staff_ids: frozenset[str] = frozenset()  # named staff, besides the groups
    caller_ids: frozenset[str] = frozenset()  # older scopes: empty means any permitted caller
    caller_roles: frozenset[Role] = frozenset()  # older scopes: empty means any role
    tz: tzinfo = field(kw_only=True)  # the windows' zone: the organisation's (Settings.timezone)

    @property
    def names_callers(self) -> bool:
        """True if the scope says whom it covers (groups or named staff)."""
        return self.callers is not None or bool(self.staff_ids)

    def active_at(self, now: datetime) -> bool:
        """True between grant and expiry, unless revoked by then."""
        if now < self.granted_at:
            return False
        if self.expires_at is not None and now >= self.expires_at:
            return False
        return self.revoked_at is None or now < self.revoked_at


def is_care_relation(caller: CallerFacts, citizen: CitizenFacts) -> bool:
    """True if the caller is one of the citizen's contact persons or on the citizen's team."""
    if caller.kind is not PeerKind.STAFF or caller.org_id != citizen.org_id:
        return False
    if caller.user_id in citizen.contact_person_ids:
        return True
    return citizen.team_id is not None and citizen.team_id in caller.team_ids


def may_ring(caller: CallerFacts, citizen: CitizenFacts) -> bool:
    """True if this caller may ring this citizen's kiosk; kiosks and guests never ring."""
    if caller.kind is not PeerKind.STAFF or caller.org_id != citizen.org_id:
        return False
    if not citizen.screen_visits_consent:
        return False
    if caller.role in CARE_ROLES:
        return is_care_relation(caller, citizen)
    return caller.role in ORG_ROLES


def may_join(
    inviter: CallerFacts,
    joiner: CallerFacts,
    citizen: CitizenFacts,
    seats_taken: int,
    *,
    max_participants: int = DEFAULT_MAX_PARTICIPANTS,
) -> JoinVerdict:
    """Whether `inviter` may add colleague `joiner` to a call with `seats_taken` seats used."""
    # The colleague need not be on the citizen's team (a carer may call in a specialist
    # nurse): the inviter vouches, and the call itself shows no records.
    for person in (inviter, joiner):
        if person.kind is not PeerKind.STAFF or person.role is None:
            return JoinVerdict.FORBIDDEN
        if person.org_id != citizen.org_id:
            return JoinVerdict.FORBIDDEN
    if seats_taken >= max_participants:
        return JoinVerdict.ROOM_FULL
    return JoinVerdict.ALLOWED


def auto_answer_after(
    caller: CallerFacts,
    citizen: CitizenFacts,
    consent: ConsentFacts | None,
    visit: Window | None,
    now: datetime,
    *,
    seconds: int = DEFAULT_AUTO_ANSWER_S,
) -> int | None:
    """Seconds of visible countdown before the kiosk answers by itself, or None to just ring."""
    # Answering on someone's behalf opens a camera in their home: every condition must hold,
    # and a ring without a planned visit never auto-answers.
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= seconds <= MAX_AUTO_ANSWER_S:
        raise ValueError(f"seconds must be within 1..{MAX_AUTO_ANSWER_S}, got {seconds}")
    if consent is None or visit is None or not visit.contains(now):
        return None
    if not (citizen.screen_visits_consent and is_care_relation(caller, citizen)):
        return None
    return seconds if _consent_covers(consent, caller, citizen, now) else None


def _consent_covers(
    consent: ConsentFacts, caller: CallerFacts, citizen: CitizenFacts, now: datetime
) -> bool:
    """True if the consent is active now and its scope includes this caller and time."""
    if not consent.active_at(now):
        return False
    if consent.names_callers and not _named_caller(consent, caller, citizen):
        return False
    if consent.caller_ids and caller.user_id not in consent.caller_ids:
        return False
    if consent.caller_roles and caller.role not in consent.caller_roles:
        return False
    local = now.astimezone(consent.tz)
    return not consent.windows or any(w.contains(local) for w in consent.windows)


def _named_caller(consent: ConsentFacts, caller: CallerFacts, citizen: CitizenFacts) -> bool:
    """True if the caller is in one of the consent's groups or is named in it."""
    groups = consent.callers or frozenset()
    if CallerGroup.CONTACT_PERSONS in groups and caller.user_id in citizen.contact_person_ids:
        return True
    on_team = citizen.team_id is not None and citizen.team_id in caller.team_ids
    if CallerGroup.TEAM in groups and on_team:
        return True
    return caller.user_id in consent.staff_ids
