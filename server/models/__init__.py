"""All tables share one ``Base``; import models from here."""

from ..vocabulary import (
    AlertKind,
    CallState,
    Channel,
    ConsentKind,
    EndReason,
    ObservationCode,
    OutcomeKind,
    PeerKind,
    Role,
    TaskKind,
    VisitStatus,
)
from .agreements import AgreementSheet
from .audit import AuditEvent
from .base import Base, utcnow
from .calls import Call, CallParticipant
from .care import Alert, CareTask, KioskSelfTest
from .citizen import Citizen, Consent, ContactPerson, KioskDevice, Relative
from .kiosk import KioskPairing
from .organisation import LoginThrottle, Organisation, Staff, StaffSession, Team, TeamMembership
from .scheduling import (
    CalendarFeed,
    CitizenPause,
    ExternalRef,
    JobLock,
    Notification,
    PlanAdjustment,
    PlanChange,
)
from .visits import Observation, Outcome, Visit, VisitPlan, VisitType

__all__ = [
    "AgreementSheet",
    "CalendarFeed",
    "CitizenPause",
    "ExternalRef",
    "JobLock",
    "Notification",
    "PlanAdjustment",
    "PlanChange",
    "Alert",
    "AlertKind",
    "CareTask",
    "KioskSelfTest",
    "TaskKind",
    "AuditEvent",
    "Base",
    "Call",
    "CallParticipant",
    "CallState",
    "EndReason",
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
