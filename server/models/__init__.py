"""All tables share one ``Base``; import models from here."""

from ..vocabulary import (
    CallState,
    Channel,
    ConsentKind,
    EndReason,
    InboxKind,
    InboxState,
    ObservationCode,
    OutcomeKind,
    PeerKind,
    Role,
    VisitStatus,
)
from .agreements import AgreementSheet
from .audit import AuditEvent
from .base import Base, utcnow
from .calls import Call, CallParticipant
from .citizen import Citizen, Consent, ContactPerson, KioskDevice, Relative
from .inbox import InboxItem
from .kiosk import KioskPairing, KioskSelfTest
from .notices import CitizenNotice, NoticeChannel, NoticeKind, NoticeWatch, SmsRecipient
from .organisation import LoginThrottle, Organisation, Staff, StaffSession, Team, TeamMembership
from .scheduling import (
    CalendarFeed,
    CitizenPause,
    ExternalRef,
    ImportJob,
    JobLock,
    Notification,
    PlanAdjustment,
    PlanChange,
)
from .visits import Observation, Outcome, Visit, VisitPlan, VisitType

__all__ = [
    "AgreementSheet",
    "CitizenNotice",
    "NoticeChannel",
    "NoticeKind",
    "NoticeWatch",
    "SmsRecipient",
    "CalendarFeed",
    "CitizenPause",
    "ExternalRef",
    "ImportJob",
    "JobLock",
    "Notification",
    "PlanAdjustment",
    "PlanChange",
    "InboxItem",
    "KioskSelfTest",
    "AuditEvent",
    "Base",
    "Call",
    "CallParticipant",
    "CallState",
    "EndReason",
    "InboxKind",
    "InboxState",
    "Channel",
    "Citizen",
    "Consent",
    "ConsentKind",
    "ContactPerson",
    "KioskDevice",
    "KioskPairing",
    "LoginThrottle",
    "Observation",
    "ObservationCode",
    "Organisation",
    "Outcome",
    "OutcomeKind",
    "PeerKind",
    "Relative",
    "Role",
    "Staff",
    "StaffSession",
    "Team",
    "TeamMembership",
    "Visit",
    "VisitPlan",
    "VisitStatus",
    "VisitType",
    "utcnow",
]
