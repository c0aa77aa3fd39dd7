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
from .agreements import AgreementSheet, AgreementVersion
from .audit import AuditEvent
from .base import Base, utcnow
from .calls import Call, CallParticipant
from .citizen import Citizen, Consent, ContactPerson, KioskDevice, Relative
from .inbox import InboxItem
from .kiosk import KioskPairing, KioskSelfTest
from .meeting_dialogue import MeetingDialogue
from .meetings import InviteeKind, LinkPurpose, MeetingInvite, RelativeLink
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
    "AgreementVersion",
    "AuditEvent",
    "Base",
    "CalendarFeed",
    "Call",
    "CallParticipant",
    "CallState",
    "Channel",
    "Citizen",
    "CitizenNotice",
    "CitizenPause",
    "Consent",
    "ConsentKind",
    "ContactPerson",
    "EndReason",
    "ExternalRef",
    "ImportJob",
    "InboxItem",
    "InboxKind",
    "InboxState",
    "InviteeKind",
    "JobLock",
    "KioskDevice",
    "KioskPairing",
    "KioskSelfTest",
    "LinkPurpose",
    "LoginThrottle",
    "MeetingDialogue",
    "MeetingInvite",
    "NoticeChannel",
    "NoticeKind",
    "NoticeWatch",
    "Notification",
    "Observation",
    "ObservationCode",
    "Organisation",
    "Outcome",
    "OutcomeKind",
    "PeerKind",
    "PlanAdjustment",
    "PlanChange",
    "Relative",
    "RelativeLink",
    "Role",
    "SmsRecipient",
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
