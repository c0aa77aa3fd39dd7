"""Is the citizen's tablet ready for a screen visit: what the database knows, and the rules.

One query shape for every reader (the call list, the readiness API, the scheduler's alerts,
the citizen page): a citizen's tablet is their newest unrevoked one; a tablet's self-test is
its newest (latest time, then highest id). Whether the tablet is connected right now is live
state, not stored: callers pass it in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import KioskDevice, KioskSelfTest
from ..vocabulary import InboxKind

SEEN_RECENTLY = dt.timedelta(minutes=2)  # a socket this recent counts as online for alerts
READY_WITHIN = dt.timedelta(hours=24)  # a self-test older than this no longer counts


@dataclass(frozen=True, slots=True)
class SelfTest:
    """A tablet's latest self-test."""

    at: dt.datetime
    ok: bool
    failed_part: str | None
    rtt_ms: float | None
    loss_pct: float | None


@dataclass(frozen=True, slots=True)
class Tablet:
    """A citizen's tablet as far as the database knows."""

    kiosk_id: int
    citizen_id: int | None
    label: str
    enrolled_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    selftest: SelfTest | None


async def latest_selftests(
    session: AsyncSession, kiosk_ids: Collection[int]
) -> dict[int, SelfTest]:
    """The newest self-test of each of these tablets that has one."""
    if not kiosk_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=KioskSelfTest.kiosk_id,
            order_by=(KioskSelfTest.at.desc(), KioskSelfTest.id.desc()),
        )
        .label("rank")
    )
    ranked = select(KioskSelfTest.id, rank).where(KioskSelfTest.kiosk_id.in_(kiosk_ids)).subquery()
    rows = await session.scalars(
        select(KioskSelfTest)
        .join(ranked, ranked.c.id == KioskSelfTest.id)
        .where(ranked.c.rank == 1)
    )
    return {t.kiosk_id: SelfTest(t.at, t.ok, t.failed_part, t.rtt_ms, t.loss_pct) for t in rows}


async def tablets(session: AsyncSession, kiosks: list[KioskDevice]) -> list[Tablet]:
    """These tablets with their latest self-tests."""
    tests = await latest_selftests(session, [k.id for k in kiosks])
    return [
        Tablet(
            k.id,
            k.citizen_id,
            k.label,
            k.enrolled_at,
            k.revoked_at,
            k.last_seen_at,
            tests.get(k.id),
        )
        for k in kiosks
    ]


async def citizens_tablets(
    session: AsyncSession, citizen_ids: Collection[int]
) -> dict[int, Tablet]:
    """Each citizen's active tablet (the newest unrevoked one), with its latest self-test."""
    if not citizen_ids:
        return {}
    kiosks = await session.scalars(
        select(KioskDevice)
        .where(KioskDevice.citizen_id.in_(citizen_ids), KioskDevice.revoked_at.is_(None))
        .order_by(KioskDevice.id)
    )
    newest = {k.citizen_id: k for k in kiosks if k.citizen_id is not None}  # later ids win
    return {t.citizen_id: t for t in await tablets(session, list(newest.values())) if t.citizen_id}


async def citizen_tablets(session: AsyncSession, citizen_id: int) -> list[Tablet]:
    """Every tablet ever lent to the citizen, revoked ones too, oldest first."""
    kiosks = await session.scalars(
        select(KioskDevice).where(KioskDevice.citizen_id == citizen_id).order_by(KioskDevice.id)
    )
    return await tablets(session, list(kiosks))


def problem(tablet: Tablet | None, online: bool, now: dt.datetime) -> str | None:
    """Why the tablet is not ready for a screen visit (a stable code), or None when it is."""
    if tablet is None:
        return "not_enrolled"
    if not online:
        return "offline"
    test = tablet.selftest
    if test is None or now - test.at > READY_WITHIN:
        return "selftest_missing"
    if not test.ok:
        return f"selftest_failed:{test.failed_part}"
    return None


def alert_for(tablet: Tablet | None, online: bool, now: dt.datetime) -> InboxKind | None:
    """Whether to warn the team before a screen visit: offline, or its last self-test failed.

    Gentler than ``problem``: a tablet seen within ``SEEN_RECENTLY`` counts as online (it may
    be reconnecting), and a missing self-test is no reason to send someone out.
    """
    if tablet is None:
        return InboxKind.TABLET_OFFLINE
    seen = tablet.last_seen_at is not None and tablet.last_seen_at >= now - SEEN_RECENTLY
    if not (online or seen):
        return InboxKind.TABLET_OFFLINE
    test = tablet.selftest
    return InboxKind.SELFTEST_FAILED if test is not None and not test.ok else None


async def mark_seen(session: AsyncSession, kiosk_id: int, now: dt.datetime) -> None:
    """Record that the tablet had a socket just now."""
    await session.execute(
        update(KioskDevice).where(KioskDevice.id == kiosk_id).values(last_seen_at=now)
    )


async def last_seen(
    session: AsyncSession, citizen_ids: Collection[int]
) -> dict[int, dt.datetime | None]:
    """When each citizen's most recently seen active tablet last had a socket."""
    rows = await session.execute(
        select(KioskDevice.citizen_id, func.max(KioskDevice.last_seen_at))
        .where(KioskDevice.citizen_id.in_(list(citizen_ids)), KioskDevice.revoked_at.is_(None))
        .group_by(KioskDevice.citizen_id)
    )
    return {citizen_id: seen for citizen_id, seen in rows if citizen_id is not None}
