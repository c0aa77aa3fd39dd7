"""One authenticated signalling socket and who is behind it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

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
    message_times: list[float] = field(default_factory=list, repr=False)
    dropped: int = 0
    # Kiosks only; None until the tablet says (old kiosks never do). It lives and dies with the
    # socket: a tablet that reconnects says it again after its welcome.
    device: DeviceFacts | None = None
    # Set when the server closes the socket for good (a revoked tablet, a logout, a
    # deactivation): its seat in a call is released at once, with no grace to come back in.
    banished: bool = False
    # Guests only: the invite that let this socket in (the lobby and the host need it).
    guest: GuestPass | None = None

    def info(self, *, connected: bool = True) -> PeerInfo:
        """How other participants see this peer."""
        return peer_info(self.peer_id, self.profile, connected=connected)

    def seat(self) -> Seat:
        """A seat in a call for this socket."""
        participant = Participant(
            peer_id=self.peer_id,
            kind=self.profile.kind,
            identity_id=self.profile.identity_id,
            resume_token=self.resume_token,
        )
        return Seat(participant, self.profile)

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


def sound_of(peer: Peer | None) -> bool | None:
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
