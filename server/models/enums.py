"""Closed vocabularies stored in the database (values are stable wire strings)."""

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


class ParticipantKind(enum.StrEnum):
    """Who sits at one end of a call."""

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
