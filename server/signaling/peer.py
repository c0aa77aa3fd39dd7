"""One authenticated signalling socket and who is behind it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web
from pydantic import BaseModel

from ..meetings.lobby import GuestPass
from ..rooms.book import PeerProfile, Seat
from ..rooms.registry import Participant
from .messages import PeerInfo

logger = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What a tablet last said it can do (``device-state``): ring aloud, send picture and sound."""

    sound: bool
    camera: bool
    microphone: bool


@dataclass(eq=False, slots=True)
class Peer:
    """A socket with its profile; the only object that writes to that socket."""

    peer_id: str
    ws: web.WebSocketResponse
    profile: PeerProfile
    resume_token: str = field(repr=False)
    # The rate limit's fixed one-second window: when it began and how many messages it saw.
    window_start: float = 0.0
    window_count: int = 0
    dropped: int = 0
    # Kiosks only; None until the tablet says (old kiosks never do). It lives and dies with the
    # socket: a tablet that reconnects says it again after its welcome.
    device: DeviceFacts | None = None
    # Set when the server closes the socket for good (a revoked tablet, a logout, a
    # deactivation): its seat in a call is released at once, with no grace to come back in.
    banished: bool = False
    # Guests only: the invite that let this socket in (the lobby and the host need it).
    guest: GuestPass | None = None
    # Kiosks only: when the tablet's last-seen time was noted at connect. While the socket is
    # open that is the tablet's last-seen time, so presence needs no database read for it.
    seen_at: dt.datetime | None = None

    def info(self, *, connected: bool = True) -> PeerInfo:
        """How other participants see this peer."""
        return peer_info(self.peer_id, self.profile, connected=connected)

    def seat(self) -> Seat:
        """A seat in a call for this socket."""
        return _seat(self.peer_id, self.profile, self.resume_token)

    async def send(self, message: BaseModel) -> None:
        """Write one message; a slow or closing socket never blocks or breaks the sender."""
        await self.send_text(message.model_dump_json())

    async def send_text(self, text: str) -> None:
        """Write pre-serialised JSON (fan-out serialises once)."""
        if self.ws.closed:
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self.ws.send_str(text)
        except (ConnectionResetError, TimeoutError):
            # The reader task notices the dead socket and cleans up; nothing to do here.
            logger.debug("dropped a message to peer %s", self.peer_id)


class Sender(Protocol):
    """Where a peer on another node is written to (the cluster's bus)."""

    async def send(self, peer_id: str, message: BaseModel) -> None:
        """Deliver ``message`` to one peer."""


class PeerRef(Protocol):
    """A peer wherever its socket lives: this process (``Peer``) or another node
    (``RemotePeer``). Handlers that only read a peer's face and write to it take this."""

    @property
    def peer_id(self) -> str:
        """The socket's peer id."""

    @property
    def profile(self) -> PeerProfile:
        """Who is behind the socket."""

    @property
    def device(self) -> DeviceFacts | None:
        """What a tablet last said of its devices."""

    @property
    def guest(self) -> GuestPass | None:
        """A guest's invite."""

    @property
    def banished(self) -> bool:
        """The server closed the socket for good (no grace to come back)."""

    def info(self, *, connected: bool = True) -> PeerInfo:
        """How other participants see this peer."""

    def seat(self) -> Seat:
        """A seat in a call for this socket."""

    async def send(self, message: BaseModel) -> None:
        """Write one message to the peer."""


@dataclass(eq=False, slots=True)
class RemotePeer:
    """A peer whose socket another node holds, as the cluster's directory describes it."""

    peer_id: str
    profile: PeerProfile
    resume_token: str = field(repr=False)
    sender: Sender = field(repr=False)
    device: DeviceFacts | None = None
    guest: GuestPass | None = None
    banished: bool = False

    def info(self, *, connected: bool = True) -> PeerInfo:
        """How other participants see this peer."""
        return peer_info(self.peer_id, self.profile, connected=connected)

    def seat(self) -> Seat:
        """A seat in a call for the remote socket."""
        return _seat(self.peer_id, self.profile, self.resume_token)

    async def send(self, message: BaseModel) -> None:
        """Write through the node that holds the socket."""
        await self.sender.send(self.peer_id, message)


def _seat(peer_id: str, profile: PeerProfile, resume_token: str) -> Seat:
    participant = Participant(
        peer_id=peer_id,
        kind=profile.kind,
        identity_id=profile.identity_id,
        resume_token=resume_token,
    )
    return Seat(participant, profile)


def sound_of(peer: PeerRef | None) -> bool | None:
    """A presence entry's ``sound``: unknown (None) while offline or never reported."""
    return None if peer is None or peer.device is None else peer.device.sound


def peer_info(peer_id: str, profile: PeerProfile, *, connected: bool = True) -> PeerInfo:
    """The public face of a peer (name, role, photo), never its identity ids."""
    return PeerInfo(
        peer_id=peer_id,
        kind=profile.kind.value,
        name=profile.name,
        role=profile.role,
        photo_url=profile.photo_url,
        connected=connected,
        relation=profile.relation,
    )
