"""Nothing is lost when the server dies: the real server, as a separate process on PostgreSQL,
through a compressed day of screen visits while it is killed (SIGKILL) and stopped (SIGTERM) at
random moments and restarted.

The tablets are real signalling clients: some answer, some press "Afvis", some never answer,
some are offline, some do each at random, and some press "Ring til mig". The nurses are real
logged-in clients: they ring each open visit in its window (again after a refusal, or at the
ladder's retry time), hang up after a while, and document every call that was answered. Time
is compressed: ±1 minute windows, 10 s rings, one retry a minute later (or none, for a stricter
visit type), a one-second scheduler tick and a three-second call lease.

At the end, with the server stopped gracefully: every visit has an outcome or an escalation,
no call is left open, every "Ring til mig" the tablets were told was received is stored, and
no visit was escalated twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.demo import DEMO_PASSWORD, demo_kiosk_token, seed_demo
from server.models import (
    AuditEvent,
    Call,
    Citizen,
    InboxItem,
    Organisation,
    Outcome,
    Staff,
    TeamMembership,
    Visit,
    VisitType,
    utcnow,
)
from server.security import hash_password
from server.settings import Settings
from server.vocabulary import CallState, InboxKind, OutcomeKind, Role, VisitStatus
from tests.databases import transaction
from tests.test_cli import free_port

SEED = int(os.environ.get("CRASH_INVARIANT_SEED", "20261130"))  # to replay another day
VISITS = 54
RETRY_VISITS = 14
CITIZENS = 20  # the demo's; even indexes are Team Nord, odd Team Syd
NURSES_PER_TEAM = 4
SECRET = "crash-invariant-secret"
FINAL = {VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED}
HARD_LIMIT_S = 150.0  # from the first start: the ladder's latest deadline plus slack
# What each demo tablet does when it rings (index = demo citizen index).
PROFILES = ["answer"] * 8 + ["decline"] * 3 + ["ignore"] * 3 + ["offline"] * 3 + ["random"] * 3


# -- the world ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimVisit:
    """A visit of the simulated day and the tablet it rings."""

    visit_id: int
    citizen_id: int
    team_id: int
    index: int  # the demo citizen index (its tablet's token and profile)


async def build_world(
    settings: Settings, rng: random.Random
) -> tuple[list[SimVisit], dict[int, list[str]]]:
    """Demo data, more nurses, the organisation's compressed ladder and the day's visits."""
    await seed_demo(settings)
    now = utcnow()
    async with transaction(settings.database_url) as session:
        org = await session.scalar(select(Organisation))
        assert org is not None
        org.settings = {
            **(org.settings or {}),
            "ring_timeout_s": 10,
            "retry_ladder": {
                "retries": 1,
                "delay_min": 1,
                "alert_team": True,
                "create_physical_task": True,
                "notify_relative": True,
            },
        }
        strict = VisitType(
            organisation_id=org.id,
            code="quick_check",
            name_da="Kort tilsyn",
            name_en="Quick check",
            retry_count=0,  # stricter than the organisation: no retry
        )
        session.add(strict)
        standard = await session.scalar(select(VisitType).where(VisitType.code == "reassurance"))
        assert standard is not None
        nurses = await _add_nurses(session, org.id)
        citizens = await _demo_citizens(session)
        await session.flush()
        visits = []
        for i in range(VISITS):
            index = i % CITIZENS
            citizen_id, team_id = citizens[index]
            # The first ones have a retry and a window already open (so their retries fit the
            # day); the others have none and open while the server runs.
            retry = i < RETRY_VISITS
            offset = -45 + i * 0.7 if retry else 5 + (i - RETRY_VISITS) * 0.8
            visit = Visit(
                citizen_id=citizen_id,
                visit_type_id=(standard if retry else strict).id,
                team_id=team_id,
                planned_at=now + dt.timedelta(seconds=offset + rng.uniform(0, 2)),
                window_min=1,
            )
            session.add(visit)
            await session.flush()
            visits.append(SimVisit(visit.id, citizen_id, team_id, index))
    return visits, nurses


async def _add_nurses(session: AsyncSession, org_id: int) -> dict[int, list[str]]:
    """Nurses for each team (one call at a time each); usernames by team id."""
    memberships = await session.execute(
        select(TeamMembership.team_id).distinct().order_by(TeamMembership.team_id)
    )
    by_team: dict[int, list[str]] = {}
    password = hash_password(DEMO_PASSWORD)
    for team_id in [row[0] for row in memberships]:
        for n in range(NURSES_PER_TEAM):
            username = f"sim{team_id}n{n}"
            staff = Staff(
                organisation_id=org_id,
                username=username,
                display_name=f"Sim {team_id}.{n}",
                role=Role.NURSE,
                password_hash=password,
            )
            session.add(staff)
            await session.flush()
            session.add(TeamMembership(staff_id=staff.id, team_id=team_id))
            by_team.setdefault(team_id, []).append(username)
    return by_team


async def _demo_citizens(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(select(Citizen.id, Citizen.team_id).order_by(Citizen.id))
    return [(cid, tid) for cid, tid in rows][:CITIZENS]


# -- the server process ---------------------------------------------------------------------


class ServerProcess:
    """``python -m server serve`` on a fixed loopback port, killed and started at will."""

    def __init__(self, settings: Settings, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENVISIT_")}
        env |= {
            "SCREENVISIT_DATABASE_URL": settings.database_url,
            "SCREENVISIT_SECRET_KEY": SECRET,
            "SCREENVISIT_SCHEDULING_TICK_INTERVAL_S": "1",
            "SCREENVISIT_CALL_LEASE_S": "3",
            "SCREENVISIT_SELFTEST_LEAD_MIN": "0",
            "SCREENVISIT_LOG_LEVEL": "WARNING",
        }
        self.env = env

    @property
    def url(self) -> str:
        """Where the server listens."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start the server and wait until it answers."""
        with self.log.open("a") as out:
            out.write(f"--- start {self.starts} at {utcnow().isoformat()}\n")
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), env=self.env, stdout=out, stderr=out,
            )  # fmt: skip
        self.starts += 1
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                assert self.proc.returncode is None, self.tail()
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not come up:\n" + self.tail())

    async def stop(self, sig: signal.Signals) -> None:
        """Send ``sig`` and wait for the process to end."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        await asyncio.wait_for(self.proc.wait(), timeout=30)

    def tail(self) -> str:
        """The end of the servers' output, for a failure message."""
        return self.log.read_text()[-4000:] if self.log.exists() else ""


# -- the people -----------------------------------------------------------------------------


@dataclass
class Day:
    """What the simulated people did, shared between them."""

    server: ServerProcess
    settings: Settings
    rng: random.Random
    done: asyncio.Event = field(default_factory=asyncio.Event)
    busy: set[int] = field(default_factory=set)  # visits a nurse is ringing now
    last_try: dict[int, float] = field(default_factory=dict)
    call_backs: set[int] = field(default_factory=set)  # "Ring til mig" the server confirmed
    outcomes: Counter[str] = field(default_factory=Counter)  # how attempts ended

    def ws_url(self) -> str:
        """The signalling endpoint."""
        return self.server.url.replace("http://", "ws://") + "/ws"


async def tablet(day: Day, index: int, profile: str) -> None:
    """A demo tablet: connected (reconnecting after every loss) unless it is offline."""
    token = demo_kiosk_token(day.settings, index)
    rng = random.Random(SEED + index)
    async with aiohttp.ClientSession() as http:
        day_task = asyncio.create_task(_presses_ring_til_mig(day, http, token, rng))
        try:
            while not day.done.is_set() and profile != "offline":
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    async with http.ws_connect(day.ws_url(), heartbeat=5) as ws:
                        await ws.send_json(
                            {"type": "hello", "id": 1, "version": ["1"], "token": token}
                        )
                        await _answer_rings(ws, profile, rng)
                await asyncio.sleep(rng.uniform(0.2, 0.8))
        finally:
            day_task.cancel()
            await asyncio.gather(day_task, return_exceptions=True)


async def _answer_rings(
    ws: aiohttp.ClientWebSocketResponse, profile: str, rng: random.Random
) -> None:
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
        data = json.loads(msg.data)
        if data.get("type") != "ring":
            continue
        choice = rng.choice(["answer", "decline", "ignore"]) if profile == "random" else profile
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        if choice in {"answer", "decline"}:
            kind = "accept" if choice == "answer" else "decline"
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json({"type": kind, "call_id": data["call_id"]})


async def _presses_ring_til_mig(
    day: Day, http: aiohttp.ClientSession, token: str, rng: random.Random
) -> None:
    """Now and then the citizen presses "Ring til mig" (kept when the server said so)."""
    while not day.done.is_set():
        await asyncio.sleep(rng.uniform(15, 60))
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
            async with http.post(
                f"{day.server.url}/api/kiosk/call-back",
                json={},
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response:
                if response.status == 201:
                    day.call_backs.add(int((await response.json())["alert_id"]))


@dataclass
class Nurse:
    """A logged-in nurse: her cookies survive a server restart (sessions are stored)."""

    username: str
    http: aiohttp.ClientSession
    csrf: str = ""

    async def log_in(self, base: str) -> None:
        """Through the real login form."""
        async with self.http.get(f"{base}/login") as page:
            match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert match
        form = {"username": self.username, "password": DEMO_PASSWORD, "csrf_token": match[1]}
        async with self.http.post(f"{base}/login", data=form, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        async with self.http.get(f"{base}/api/me") as me:
            self.csrf = (await me.json())["csrf_token"]


async def ring_once(day: Day, nurse: Nurse, visit: SimVisit) -> str:
    """One attempt: ring, and if answered talk a little and hang up; how it ended."""
    answered = False
    try:
        async with nurse.http.ws_connect(day.ws_url(), heartbeat=5) as ws:
            await ws.send_json({"type": "hello", "id": 1, "version": ["1"]})
            ring = {"type": "ring", "id": 2, "citizen_id": str(visit.citizen_id)}
            await ws.send_json({**ring, "visit_id": str(visit.visit_id)})
            async with asyncio.timeout(30):
                async for msg in ws:
                    data = json.loads(msg.data) if msg.type is aiohttp.WSMsgType.TEXT else {}
                    kind = data.get("type")
                    if kind == "error" and data.get("ref") == 2:
                        return str(data["code"])
                    if kind == "call-state" and data["state"] == "active" and not answered:
                        answered = True
                        await asyncio.sleep(day.rng.uniform(0.5, 3))
                        await ws.send_json({"type": "hangup", "call_id": data["call_id"]})
                    if kind == "call-ended":
                        return "answered" if answered else str(data["reason"])
            return f"socket closed {ws.close_code}"
    except (aiohttp.ClientError, OSError, TimeoutError):
        return "server gone"
    finally:
        if answered:
            await document(day, nurse, visit)


async def document(day: Day, nurse: Nurse, visit: SimVisit) -> None:
    """Record "completed" for an answered call, trying again while the server is away."""
    body = {"kind": "completed"}
    for _ in range(80):
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
            async with nurse.http.post(
                f"{day.server.url}/api/visits/{visit.visit_id}/outcome",
                json=body,
                headers={"X-CSRF-Token": nurse.csrf},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response:
                if response.status < 500:
                    day.outcomes[f"documented {response.status}"] += 1
                    return
        await asyncio.sleep(0.5)
    day.outcomes["never documented"] += 1


async def nurses_work(day: Day, visits: list[SimVisit], nurses: dict[int, list[Nurse]]) -> None:
    """The nurses' day: ring every open visit in its window when it is due, in parallel."""
    free = {team: asyncio.Queue[Nurse]() for team in nurses}
    for team, people in nurses.items():
        for nurse in people:
            free[team].put_nowait(nurse)
    by_id = {v.visit_id: v for v in visits}
    tasks: set[asyncio.Task[None]] = set()

    async def attempt(visit: SimVisit, nurse: Nurse) -> None:
        try:
            day.outcomes[await ring_once(day, nurse, visit)] += 1
        finally:
            day.busy.discard(visit.visit_id)
            day.last_try[visit.visit_id] = asyncio.get_running_loop().time()
            free[visit.team_id].put_nowait(nurse)

    while not day.done.is_set():
        for visit_id in await due_visits(day, list(by_id)):
            visit = by_id[visit_id]
            queue = free[visit.team_id]
            if visit_id in day.busy or queue.empty():
                continue
            day.busy.add(visit_id)
            task = asyncio.create_task(attempt(visit, queue.get_nowait()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.5)
    await asyncio.gather(*tasks, return_exceptions=True)


async def due_visits(day: Day, visit_ids: list[int]) -> list[int]:
    """Open visits in their window, or whose retry time has come (the console says "ring again
    at …"), not tried just now."""
    now, loop_now = utcnow(), asyncio.get_running_loop().time()
    async with transaction(day.settings.database_url) as session:
        rows = await session.execute(
            select(Visit.id, Visit.planned_at, Visit.window_min, Visit.next_attempt_at).where(
                Visit.id.in_(visit_ids),
                Visit.status.in_((VisitStatus.PLANNED, VisitStatus.NOT_ANSWERED)),
            )
        )
        due = []
        for visit_id, planned, window_min, next_at in rows:
            window = dt.timedelta(minutes=window_min)
            if next_at is not None:
                if next_at > now:  # the ladder's retry time has not come
                    continue
            elif not planned - window <= now <= planned + window:
                continue
            if loop_now - day.last_try.get(visit_id, -1e9) < 4:
                continue
            due.append(visit_id)
        day.rng.shuffle(due)
        return due


# -- the killer -----------------------------------------------------------------------------


async def kill_now_and_then(day: Day, rng: random.Random) -> list[str]:
    """Kill or stop the server at random moments of the busy part of the day; restart it."""
    plan = sorted(rng.uniform(6, 95) for _ in range(6))
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGKILL, signal.SIGTERM,
               signal.SIGKILL]  # fmt: skip
    start = asyncio.get_running_loop().time()
    done = []
    for at, sig in zip(plan, signals, strict=True):
        await asyncio.sleep(max(0.0, start + at - asyncio.get_running_loop().time()))
        await day.server.stop(sig)
        await asyncio.sleep(rng.uniform(0.1, 1.5))
        await day.server.start()
        done.append(f"{sig.name} at {at:.1f}s")
    return done


# -- the test -------------------------------------------------------------------------------


@contextlib.contextmanager
def log_on_failure(server: ServerProcess, day: Day) -> Iterator[None]:
    """Show what the people and the server did when an assertion fails."""
    try:
        yield
    except AssertionError as failure:
        raise AssertionError(
            f"{failure}\nattempts: {dict(day.outcomes)}\n{server.tail()}"
        ) from None


async def test_no_visit_is_lost_when_the_server_dies(postgres_only: str, tmp_path: Path) -> None:
    """A compressed day with the server killed and restarted: every visit ends accounted for."""
    rng = random.Random(SEED)
    settings = Settings(database_url=postgres_only, secret_key=SECRET)
    visits, usernames = await build_world(settings, rng)
    server = ServerProcess(settings, free_port(), tmp_path / "server.log")
    await server.start()
    day = Day(server, settings, rng)
    nurses: dict[int, list[Nurse]] = {}
    sessions = []
    for team, names in usernames.items():
        for username in names:
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            sessions.append(http)
            nurse = Nurse(username, http)
            await nurse.log_in(server.url)
            nurses.setdefault(team, []).append(nurse)
    people = [asyncio.create_task(tablet(day, i, PROFILES[i])) for i in range(CITIZENS)]
    people.append(asyncio.create_task(nurses_work(day, visits, nurses)))
    started = asyncio.get_running_loop().time()
    with log_on_failure(server, day):
        try:
            kills = await kill_now_and_then(day, rng)
            while asyncio.get_running_loop().time() - started < HARD_LIMIT_S:
                if await all_final(settings, [v.visit_id for v in visits]):
                    break
                await asyncio.sleep(1)
        finally:
            day.done.set()
            for task in people[:-1]:
                task.cancel()  # a tablet waits on its socket until it closes
            await asyncio.gather(*people, return_exceptions=True)
            for http in sessions:
                await http.close()
            await server.stop(signal.SIGTERM)
        assert len(kills) == 6 and server.starts == 7
        await assert_nothing_lost(settings, visits, day)


async def describe(settings: Settings, visit_ids: list[int]) -> str:
    """The visits and their calls, for a failure message."""
    lines = [f"now {utcnow():%H:%M:%S}"]
    async with transaction(settings.database_url) as session:
        for visit in await session.scalars(select(Visit).where(Visit.id.in_(visit_ids))):
            lines.append(
                f"visit {visit.id} {visit.status.value} planned {visit.planned_at:%H:%M:%S} "
                f"attempts {visit.attempts} next {visit.next_attempt_at}"
            )
            calls = await session.scalars(
                select(Call).where(Call.visit_id == visit.id).order_by(Call.id)
            )
            lines += [
                f"  call {c.state.value} {c.end_reason} rang {c.ring_started_at:%H:%M:%S} "
                f"answered {c.answered_at} ended {c.ended_at} lease {c.lease_until}"
                for c in calls
            ]
    return "\n".join(lines)


async def all_final(settings: Settings, visit_ids: list[int]) -> bool:
    """Whether every visit of the day has reached a final status."""
    async with transaction(settings.database_url) as session:
        open_ = await session.scalar(
            select(func.count()).where(Visit.id.in_(visit_ids), Visit.status.not_in(FINAL))
        )
        return open_ == 0


async def assert_nothing_lost(settings: Settings, visits: list[SimVisit], day: Day) -> None:
    """The invariants of the issue: outcome or escalation, no open call, no lost or doubled
    inbox item, no doubled escalation."""
    ids = [v.visit_id for v in visits]
    async with transaction(settings.database_url) as session:
        statuses = dict(
            (await session.execute(select(Visit.id, Visit.status).where(Visit.id.in_(ids)))).all()
        )
        outcomes = Counter(
            await session.scalars(select(Outcome.visit_id).where(Outcome.visit_id.in_(ids)))
        )
        escalations = Counter(
            await session.scalars(
                select(AuditEvent.subject_id).where(AuditEvent.action == "visit.escalated")
            )
        )
        missed_items = Counter(
            await session.scalars(
                select(InboxItem.visit_id).where(
                    InboxItem.kind == InboxKind.MISSED_VISIT, InboxItem.visit_id.in_(ids)
                )
            )
        )
        open_calls = await session.scalar(select(func.count()).where(Call.state != CallState.ENDED))
        stored_call_backs = set(
            await session.scalars(
                select(InboxItem.id).where(InboxItem.kind == InboxKind.CALL_BACK_REQUEST)
            )
        )
        kinds = Counter(
            await session.scalars(select(Outcome.kind).where(Outcome.visit_id.in_(ids)))
        )
    unaccounted = [v for v in ids if not outcomes[v] and not escalations[str(v)]]
    assert unaccounted == [], (
        f"visits with neither outcome nor escalation: {await describe(settings, unaccounted)}"
    )
    assert all(statuses[v] in FINAL for v in ids), Counter(statuses.values())
    assert open_calls == 0, "a call is left open"
    doubled = [v for v in ids if escalations[str(v)] > 1 or missed_items[v] > 1]
    assert doubled == [], f"escalated more than once: {doubled}"
    assert day.call_backs <= stored_call_backs, "a confirmed 'Ring til mig' is not stored"
    escalated = {v for v in ids if escalations[str(v)]}
    assert {v for v in escalated if not missed_items[v]} == set(), "an escalation without its item"
    # The day really had each kind of ending the people were set up for.
    ended = {OutcomeKind.COMPLETED, OutcomeKind.TECHNICAL_FAILURE, OutcomeKind.NOT_ANSWERED}
    assert all(kinds[kind] for kind in ended), kinds
