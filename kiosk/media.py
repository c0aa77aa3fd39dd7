"""Local media for the agent: a synthetic test pattern and tone, or a device or file via FFmpeg."""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from array import array
from dataclasses import dataclass, field

import av
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import MediaStreamError

logger = logging.getLogger(__name__)

WIDTH = 320  # aiortc encodes VP8 in Python-driven codecs: 320x240 keeps a call near 8 % of a core
HEIGHT = 240
SAMPLE_RATE = 48_000
TONE_HZ = 440
AUDIO_PTIME_S = 0.020
SAMPLES_PER_FRAME = int(SAMPLE_RATE * AUDIO_PTIME_S)
TEST_PATTERN = "test-pattern"

# 75 % colour bars (white, yellow, cyan, green, magenta, red, blue, black) in BT.601 Y'CbCr.
BARS_YUV = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
)


def bar_row(width: int, channel: int) -> bytes:
    """One row of the colour bars for one Y'CbCr channel (0, 1 or 2)."""
    bar_width = width / len(BARS_YUV)
    return bytes(
        BARS_YUV[min(int(x / bar_width), len(BARS_YUV) - 1)][channel] for x in range(width)
    )


def rotate(row: bytes, offset: int) -> bytes:
    """The row scrolled left by `offset` pixels, wrapping around."""
    offset %= len(row)
    return row[offset:] + row[:offset]


class ColourBarsTrack(VideoStreamTrack):
    """Colour bars that scroll two pixels a frame, at 30 frames per second, 320x240 yuv420p."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width = width
        self.height = height
        # Built once: rows of bytes rather than numpy, which the venv does not have.
        self._rows = (bar_row(width, 0), bar_row(width // 2, 1), bar_row(width // 2, 2))
        self._count = 0

    def make_frame(self, index: int) -> av.VideoFrame:
        """Frame number `index` of the pattern, without timestamps."""
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        heights = (self.height, self.height // 2, self.height // 2)
        for plane, row, rows, shift in zip(
            frame.planes, self._rows, heights, (2, 1, 1), strict=True
        ):
            plane.update(rotate(row, index * shift) * rows)
        return frame

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced in real time by aiortc's clock."""
        pts, time_base = await self.next_timestamp()
        frame = self.make_frame(self._count)
        self._count += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame


def tone_second(hz: int = TONE_HZ, rate: int = SAMPLE_RATE) -> bytes:
    """One second of a sine at a quarter of full scale as s16 samples; whole cycles, so it loops."""
    samples = array("h", (int(8191 * math.sin(2 * math.pi * hz * n / rate)) for n in range(rate)))
    return samples.tobytes()


class ToneTrack(MediaStreamTrack):
    """A 440 Hz sine, 48 kHz mono s16, in 20 ms frames paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pcm = tone_second()
        self._pts = 0
        self._start: float | None = None

    def make_frame(self, pts: int) -> av.AudioFrame:
        """The 20 ms frame starting at sample `pts`."""
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        begin = (pts % SAMPLE_RATE) * 2
        frame.planes[0].update(self._pcm[begin : begin + SAMPLES_PER_FRAME * 2])
        frame.pts = pts
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame

    async def recv(self) -> av.AudioFrame:
        """The next frame; sleeps so frames leave at the rate they would be captured."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += SAMPLES_PER_FRAME
            await asyncio.sleep(self._start + self._pts / SAMPLE_RATE - time.time())
        return self.make_frame(self._pts)


@dataclass(frozen=True, slots=True)
class MediaSource:
    """One FFmpeg input: a device (`v4l2:/dev/video0`, `alsa:default`) or a file path."""

    path: str
    format: str | None = None


def parse_media_spec(spec: str) -> tuple[MediaSource, ...]:
    """`test-pattern`, or comma-separated FFmpeg inputs; empty means the test pattern."""
    if spec == TEST_PATTERN:
        return ()
    sources = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, sep, rest = part.partition(":")
        if sep and kind in ("v4l2", "alsa", "pulse", "avfoundation", "dshow") and rest:
            sources.append(MediaSource(rest, kind))
        else:
            sources.append(MediaSource(part))
    return tuple(sources)


def _player_options(source: MediaSource) -> dict[str, str]:
    """Ask cameras for the small size we encode anyway, so FFmpeg does not scale 1080p frames."""
    if source.format == "v4l2":
        return {"video_size": f"{WIDTH}x{HEIGHT}", "framerate": "30"}
    return {}


@dataclass
class LocalMedia:
    """The agent's outgoing tracks for one call, shared by every peer connection via a relay."""

    audio: MediaStreamTrack
    video: MediaStreamTrack
    players: list[MediaPlayer] = field(default_factory=list)
    relay: MediaRelay = field(default_factory=MediaRelay)

    def audio_for_peer(self) -> MediaStreamTrack:
        """A proxy of the audio track for one more peer connection (mesh)."""
        # Unbuffered: a slow consumer skips frames instead of growing a queue.
        return self.relay.subscribe(self.audio, buffered=False)

    def video_for_peer(self) -> MediaStreamTrack:
        """A proxy of the video track for one more peer connection (mesh)."""
        return self.relay.subscribe(self.video, buffered=False)

    def stop(self) -> None:
        """Stop the sources (and release cameras and microphones)."""
        self.audio.stop()
        self.video.stop()
        for player in self.players:
            for track in (player.audio, player.video):
                if track is not None:
                    track.stop()


def open_media(spec: str = TEST_PATTERN) -> LocalMedia:
    """Open the sources named by `spec`; a kind none of them provides gets the synthetic track."""
    # No loop=True for files: aiortc 1.16 restarts the timestamps at each loop and then stops
    # pacing, flooding the encoder. A file plays once; the test pattern runs forever.
    players = [
        MediaPlayer(s.path, format=s.format, options=_player_options(s))
        for s in parse_media_spec(spec)
    ]
    audio = next((p.audio for p in players if p.audio is not None), None)
    video = next((p.video for p in players if p.video is not None), None)
    logger.info(
        "media: audio from %s, video from %s",
        "device/file" if audio else "tone",
        "device/file" if video else "test pattern",
    )
    return LocalMedia(audio or ToneTrack(), video or ColourBarsTrack(), players)
