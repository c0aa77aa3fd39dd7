"""Closed vocabularies: stored in the database, spoken on the wire, used by the pure cores.

A leaf module (it imports nothing of ours or of SQLAlchemy), so the live-call core and the
schedule core share these enums with the models instead of mirroring them. The wire schema
(`signaling/messages.py`) spells some of them as `Literal`s; `tests/test_vocabulary.py` binds
those to these.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a staff member is; decides what they may see and do."""

    NURSE = "nurse"
    CARER = "carer"
    VISITATOR = "visitator"
    PLANNER = "planner"
    ADMIN = "admin"


class ConsentKind(enum.StrEnum):
    """What the citizen has consented to; scope details live in the consent's JSON scope."""

    SCREEN_VISITS = "screen_visits"
    AUTO_ANSWER = "auto_answer"
    RELATIVE_JOIN = "relative_join"
    RELATIVE_CALL = "relative_call"
    NOTIFY_RELATIVE = "notify_relative"
    RELATIVE_AGREEMENTS = "relative_agreements"  # a relative may see the agreement sheets


class CallerGroup(enum.StrEnum):
    """Whom an auto-answer consent names as a group (its scope's ``callers``)."""

    CONTACT_PERSONS = "contact_persons"  # the citizen's fixed contact persons
    TEAM = "team"  # staff of the citizen's team


class Channel(enum.StrEnum):
    """How a visit is delivered."""

    SCREEN = "screen"
    PHYSICAL = "physical"


class VisitStatus(enum.StrEnum):
    """Where a visit stands; every visit ends in DONE, MISSED or CANCELLED."""

    PLANNED = "planned"
    RINGING = "ringing"
    IN_CALL = "in_call"
    DONE = "done"
    NOT_ANSWERED = "not_answered"
    MISSED = "missed"
    CANCELLED = "cancelled"


class OutcomeKind(enum.StrEnum):
    """The recorded outcome of a visit (PRODUCT.md rule 5)."""

    COMPLETED = "completed"
    PARTLY_COMPLETED = "partly_completed"
    DECLINED = "declined"
    NOT_ANSWERED = "not_answered"
    TECHNICAL_FAILURE = "technical_failure"
    CONVERTED_TO_PHYSICAL = "converted_to_physical"
    CANCELLED = "cancelled"


class CallState(enum.StrEnum):
    """The lifecycle of one call."""

    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class PeerKind(enum.StrEnum):
    """Who sits at one end of a call: a staff member, the citizen's tablet or a guest."""

    STAFF = "staff"
    KIOSK = "kiosk"
    GUEST = "guest"


class ObservationCode(enum.StrEnum):
    """Coded observations for early detection of decline (tidlig opsporing)."""

    APPETITE = "appetite"
    DRINKING = "drinking"
    MOBILITY = "mobility"
    MOOD = "mood"
    CONFUSION = "confusion"
    SKIN = "skin"
    PAIN = "pain"
    LONELINESS = "loneliness"
    FALL = "fall"
    BLOOD_SUGAR = "blood_sugar"
    OTHER = "other"


class EndReason(enum.StrEnum):
    """Why a call or a participation ended (``call.end_reason``; the wire's ``reason``)."""

    HANGUP = "hangup"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NO_ANSWER = "no_answer"
    CONNECTION_LOST = "connection_lost"
    # Recorded only, never sent in `call-ended` (protocol version 1 does not know them):
    OFFLINE = "offline"  # a ring refused at once: the citizen's tablet was not connected
    BUSY = "busy"  # a ring refused at once: the citizen was already in a call
    SERVER_LOST = "server_lost"  # the server that held the call stopped or died


# End reasons the call's participants never hear (see EndReason).
RECORDED_ONLY = frozenset({EndReason.OFFLINE, EndReason.BUSY, EndReason.SERVER_LOST})
# A call that never reached the citizen through no choice of theirs.
TECHNICAL = frozenset({EndReason.OFFLINE, EndReason.BUSY, EndReason.SERVER_LOST})


class InboxKind(enum.StrEnum):
    """What an item in a team's inbox is about."""

    MISSED_VISIT = "missed_visit"  # the missed-visit ladder escalated a visit
    TABLET_OFFLINE = "tablet_offline"  # before a screen visit's window
    SELFTEST_FAILED = "selftest_failed"  # before a screen visit's window
    CALL_BACK_REQUEST = "call_back_request"  # "Ring til mig" on the tablet
    PHYSICAL_VISIT = "physical_visit"  # a screen visit converted to a physical one
    CALL_BACK = "call_back"  # a staff member's note to ring a citizen back
    RELATIVE_NOTICE = "relative_notice"  # relatives were told of a missed visit
    DECLINED_CALL = "declined_call"  # declined on the tablet: ring again? (refusal policy "ask")
    UNASSIGNED_VISIT = "unassigned_visit"  # no qualified colleague could be given the visit
    FOLLOW_UP_TASK = "follow_up_task"  # agreed at a meeting: an owner and a due date


# Who answers for delegated medication and may override its safety rules (a move out of the
# dose's window, a visit given to an unqualified role or to nobody), always with a reason.
OVERRIDE_ROLES = frozenset({Role.NURSE, Role.VISITATOR})


# Kinds that need someone's attention at once: a live banner on the team's consoles.
ALERT_KINDS = frozenset(
    {
        InboxKind.MISSED_VISIT,
        InboxKind.TABLET_OFFLINE,
        InboxKind.SELFTEST_FAILED,
        InboxKind.CALL_BACK_REQUEST,
        InboxKind.DECLINED_CALL,
    }
)


class TabletRefusal(enum.StrEnum):
    """What a citizen's "Afvis" on the tablet leads to (an organisation's setting)."""

    RETRY = "retry"  # a failed attempt like a ring nobody answered: the ladder rings again
    FINAL = "final"  # the citizen's answer: the visit ends as declined at once
    ASK = "ask"  # no automatic retry: the team is asked whether to ring again


class InboxState(enum.StrEnum):
    """Where an inbox item stands: open, taken by someone, done (with a note) or dismissed."""

    OPEN = "open"
    TAKEN = "taken"
    DONE = "done"
    DISMISSED = "dismissed"
