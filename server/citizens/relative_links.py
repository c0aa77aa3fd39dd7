"""Relatives' personal links (`/r/<token>`): made by staff, opened by a relative without an account.

A link is for one relative on file and one purpose; only the token's hash is stored, and the
token is shown once to the staff member who made it (or e-mailed once to the relative, made
when the e-mail is sent). What
the link opens is checked against the citizen's consent for that relative and purpose on every
use (`resolve`), not only when it was made: a withdrawn consent closes every link at once.

Links to ring the tablet (``LinkPurpose.CALL``) are stored the same way; they are made only
while the organisation lets relatives call (``relatives_may_call``), and each ring checks the
link, the consent and the setting again (``meetings.relative_calls``).
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import audit, orgsettings
from ..errors import Conflict, InvalidInput, NotFound
from ..identity import StaffIdentity
from ..models import (
    AgreementSheet,
    Citizen,
    Consent,
    LinkPurpose,
    Notification,
    Relative,
    RelativeLink,
)
from ..scheduling.notifier import LINK_SLOT
from ..security import token_hash
from ..translatable import N_
from ..vocabulary import ConsentKind

LINK_DAYS = 30
TOKEN_BYTES = 32  # 43 URL-safe characters
# The consent a purpose needs, and the relative's cached flag that mirrors it.
PURPOSE_CONSENT = {
    LinkPurpose.AGREEMENTS: ConsentKind.RELATIVE_AGREEMENTS,
    LinkPurpose.CALL: ConsentKind.RELATIVE_CALL,
}
PURPOSE_FLAG = {LinkPurpose.AGREEMENTS: "may_see_agreements", LinkPurpose.CALL: "may_call"}


class LinkState(enum.StrEnum):
    """What opening a link found; only ``OPEN`` shows anything of the citizen."""

    OPEN = "open"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NO_CONSENT = "no_consent"


class UnknownRelative(NotFound):
    """The relative is not one of this citizen's current relatives."""

    code = "unknown_relative"
    default_message = N_("Den pårørende findes ikke hos denne borger.")


class UnknownLink(NotFound):
    """No such link for this relative."""

    code = "unknown_link"
    default_message = N_("Linket findes ikke.")


class UnsupportedPurpose(InvalidInput):
    """A purpose this build does not make links for yet."""

    code = "unsupported_purpose"
    default_message = N_("Der kan kun laves links til aftalearket.")


class NoConsent(Conflict):
    """The citizen has not consented to this relative seeing what the link opens."""

    code = "relative_no_consent"
    default_message = N_("Borgeren har ikke givet samtykke til, at den pårørende ser aftalearket.")


class NoCallConsent(NoConsent):
    """The citizen has not consented to this relative ringing the tablet."""

    default_message = N_(
        "Borgeren har ikke givet samtykke til, at den pårørende ringer til tabletten."
    )


class CallsOff(Conflict):
    """The organisation does not let relatives ring tablets (``relatives_may_call``)."""

    code = "relative_calls_off"
    default_message = N_("Organisationen har ikke slået opkald fra pårørende til.")


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a token opens right now; ``link`` and the rest are None for an unknown token."""

    state: LinkState
    link: RelativeLink | None = None
    citizen: Citizen | None = None
    relative: Relative | None = None


def new_token() -> str:
    """A fresh, unguessable token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def link_path(token: str) -> str:
    """The path a relative opens."""
    return f"/r/{token}"


def state_of(link: RelativeLink, consented: bool, now: dt.datetime) -> LinkState:
    """Pure: revoked before expired before consent (the plainest true reason first)."""
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN if consented else LinkState.NO_CONSENT


async def relative_of(
    session: AsyncSession, citizen: Citizen, relative_id: int, *, removed_too: bool = False
) -> Relative:
    """A current relative of the citizen (or a removed one, to close their links), or
    UnknownRelative."""
    relative = await session.get(Relative, relative_id)
    if relative is None or relative.citizen_id != citizen.id:
        raise UnknownRelative()
    if relative.removed_at is not None and not removed_too:
        raise UnknownRelative()
    return relative


async def consented(session: AsyncSession, relative: Relative, purpose: LinkPurpose) -> bool:
    """The citizen's consent for this relative and purpose is in force (the register decides;
    the relative's cached flag must agree, and a removed relative has none)."""
    kind = PURPOSE_CONSENT.get(purpose)
    if kind is None or relative.removed_at is not None:
        return False
    if not getattr(relative, PURPOSE_FLAG[purpose]):
        return False
    found = await session.scalar(
        select(Consent.id).where(
            Consent.citizen_id == relative.citizen_id,
            Consent.relative_id == relative.id,
            Consent.in_force(kind),
        )
    )
    return found is not None


async def calls_allowed(session: AsyncSession, citizen_id: int) -> bool:
    """The citizen's organisation lets relatives ring tablets."""
    org_id = await session.scalar(select(Citizen.organisation_id).where(Citizen.id == citizen_id))
    return org_id is not None and (await orgsettings.load(session, org_id)).relatives_may_call


async def create(
    session: AsyncSession,
    identity: StaffIdentity | None,
    relative: Relative,
    purpose: LinkPurpose,
    now: dt.datetime,
) -> tuple[RelativeLink, str]:
    """A new link and its token (returned once, never stored); ``identity`` None: made by the
    notice job for an e-mail."""
    if purpose not in PURPOSE_CONSENT:
        raise UnsupportedPurpose()
    if purpose is LinkPurpose.CALL and not await calls_allowed(session, relative.citizen_id):
        raise CallsOff()
    if not await consented(session, relative, purpose):
        raise NoCallConsent() if purpose is LinkPurpose.CALL else NoConsent()
    token = new_token()
    link = RelativeLink(
        relative_id=relative.id,
        citizen_id=relative.citizen_id,
        purpose=purpose,
        token_hash=token_hash(token),
        expires_at=now + dt.timedelta(days=LINK_DAYS),
        created_by_staff_id=identity.staff_id if identity is not None else None,
        created_at=now,
    )
    session.add(link)
    await session.flush()
    return link, token


async def revoke(
    session: AsyncSession, relative: Relative, link_id: int, now: dt.datetime
) -> RelativeLink:
    """Close a link for good (revoking twice keeps the first time)."""
    link = await session.get(RelativeLink, link_id)
    if link is None or link.relative_id != relative.id:
        raise UnknownLink()
    if link.revoked_at is None:
        link.revoked_at = now
    await session.flush()
    return link


async def links_of(session: AsyncSession, citizen_id: int, now: dt.datetime) -> list[RelativeLink]:
    """The citizen's links still open (not revoked, not expired), newest first."""
    rows = await session.scalars(
        select(RelativeLink)
        .where(
            RelativeLink.citizen_id == citizen_id,
            RelativeLink.revoked_at.is_(None),
            RelativeLink.expires_at > now,
        )
        .order_by(RelativeLink.id.desc())
    )
    return list(rows)


async def resolve(session: AsyncSession, token: str, now: dt.datetime) -> Resolution:
    """What ``token`` opens now; an open link records when it was last used."""
    link = await session.scalar(
        select(RelativeLink).where(RelativeLink.token_hash == token_hash(token))
    )
    if link is None:
        return Resolution(LinkState.UNKNOWN)
    relative = await session.get(Relative, link.relative_id)
    citizen = await session.get(Citizen, link.citizen_id)
    assert relative is not None and citizen is not None  # foreign keys, cascading deletes
    state = state_of(link, await consented(session, relative, link.purpose), now)
    if state == LinkState.OPEN:
        link.last_used_at = now
    return Resolution(state, link, citizen, relative)


async def notice_recipients(session: AsyncSession, citizen_id: int) -> list[Relative]:
    """Relatives who get a new version's link by e-mail: they may see the agreements, they
    consented to notices, and they have an address."""
    rows = await session.scalars(
        select(Relative)
        .where(
            Relative.citizen_id == citizen_id,
            Relative.removed_at.is_(None),
            Relative.email.is_not(None),
            Relative.may_be_notified.is_(True),
        )
        .order_by(Relative.id)
    )
    found: list[Relative] = []
    for relative in rows:
        notify = await session.scalar(
            select(Consent.id).where(
                Consent.relative_id == relative.id,
                Consent.in_force(ConsentKind.NOTIFY_RELATIVE),
            )
        )
        if notify is not None and await consented(session, relative, LinkPurpose.AGREEMENTS):
            found.append(relative)
    return found


# The e-mail of a new version, in Danish and English: subject and body, with the link's slot.
MAIL_WORDS = {
    "da": (
        "Nyt aftaleark fra mødet d. {date}",
        "Kære {name}\n\nDer er en ny udgave af aftalearket fra mødet med {first} d. {date}.\n"
        "Du kan læse det her. Linket er personligt og virker i {days} dage:\n{link}\n\n"
        "Venlig hilsen\nHjemmeplejen\n",
    ),
    "en": (
        "New agreements sheet from the meeting on {date}",
        "Dear {name}\n\nThere is a new version of the agreements sheet from the meeting with "
        "{first} on {date}.\nYou can read it here. The link is personal and works for {days} "
        "days:\n{link}\n\nKind regards\nHome care\n",
    ),
}


def mail_words(
    language: str, relative: Relative, citizen: Citizen, sheet: AgreementSheet
) -> tuple[str, str]:
    """Pure: the e-mail's subject and body in ``language`` (Danish when unknown), with
    ``LINK_SLOT`` where the link goes; the link is made and put in only at delivery."""
    subject, body = MAIL_WORDS.get(language, MAIL_WORDS["da"])
    day = sheet.meeting_date
    date = f"{day:%d.%m.%Y}" if language != "en" else format_date(day, "d MMMM y", locale="en")
    first = (citizen.preferred_name or citizen.name).split()[0]
    values = {"name": relative.name, "first": first, "date": date, "days": LINK_DAYS}
    return subject.format(**values), body.format(**values, link=LINK_SLOT)


async def queue_mails(
    session: AsyncSession,
    identity: StaffIdentity,
    citizen: Citizen,
    sheet: AgreementSheet,
    now: dt.datetime,
) -> int:
    """An outbox row for each relative who gets new versions by e-mail; how many.

    The notice job delivers them (with retries), so a slow or failing mail server never
    delays or fails the save. A row holds the e-mail with a slot for the link, never the link:
    the link is made when the row is sent (``mail_link``). Neither relatives nor organisations
    have a language on file, so the e-mail is in the citizen's, as the SMS notices to her
    recipients are (``server/notices/job.py``).
    """
    queued = 0
    for relative in await notice_recipients(session, citizen.id):
        subject, body = mail_words(citizen.language, relative, citizen, sheet)
        row = Notification(
            citizen_id=citizen.id,
            relative_id=relative.id,
            subject=subject,
            body=body,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        detail = {"relative": relative.id, "agreement": sheet.id, "notification": row.id}
        audit.record(
            session,
            "relative_link.queued",
            actor=identity,
            subject=("citizen", citizen.id),
            detail=detail,
        )
        queued += 1
    return queued


@dataclass(frozen=True, slots=True)
class MailLink:
    """A link made for one e-mail: its row, and its URL (held in memory only)."""

    link_id: int
    citizen_id: int
    url: str


async def mail_link(
    session: AsyncSession, notification_id: int, public_url: str, now: dt.datetime
) -> MailLink | None:
    """A fresh agreements link for an outbox row about to be sent; None when the relative may
    no longer see the agreements (removed, consent withdrawn since the row was queued)."""
    row = await session.get(Notification, notification_id)
    relative = None if row is None else await session.get(Relative, row.relative_id)
    if relative is None:
        return None
    try:
        link, token = await create(session, None, relative, LinkPurpose.AGREEMENTS, now)
    except NoConsent:
        return None
    return MailLink(link.id, link.citizen_id, public_url.rstrip("/") + link_path(token))


async def mail_done(
    session: AsyncSession, made: MailLink, notification_id: int, sent: bool, now: dt.datetime
) -> None:
    """After the send: audited when it went; revoked when it did not (nobody has its URL)."""
    if not sent:
        link = await session.get(RelativeLink, made.link_id)
        if link is not None:
            link.revoked_at = now
        return
    audit.record(
        session,
        "relative_link.mailed",
        actor="notices",
        subject=("citizen", made.citizen_id),
        detail={"link": made.link_id, "notification": notification_id},
    )
