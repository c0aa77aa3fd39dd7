"""Synthetic media tracks and the --media specification."""

from __future__ import annotations

import fractions

from kiosk.media import (
    SAMPLES_PER_FRAME,
    ColourBarsTrack,
    MediaSource,
    ToneTrack,
    bar_row,
    parse_media_spec,
    rotate,
    tone_second,
)


async def test_colour_bars_frames_are_small_yuv_with_video_timestamps() -> None:
    """Frames are 320x240 yuv420p with 90 kHz pts advancing by one 30 fps frame."""
    track = ColourBarsTrack()
    try:
        first, second = await track.recv(), await track.recv()
    finally:
        track.stop()
    assert (first.width, first.height, first.format.name) == (320, 240, "yuv420p")
    assert first.time_base == fractions.Fraction(1, 90000)
    assert (first.pts, second.pts) == (0, 3000)


def test_colour_bars_move_between_frames() -> None:
    """Consecutive frames differ (the bars scroll), and the pattern has eight bars."""
    track = ColourBarsTrack()
    one, two = (bytes(track.make_frame(i).planes[0]) for i in (0, 1))
    track.stop()
    assert one != two
    assert len(set(bar_row(320, 0))) == 8


def test_rotate_wraps_around() -> None:
    """rotate scrolls left and wraps, for any offset."""
    assert rotate(b"abcd", 1) == b"bcda"
    assert rotate(b"abcd", 9) == b"bcda"


async def test_tone_frames_are_20ms_of_48khz_mono_s16() -> None:
    """Audio frames hold 960 samples of s16 mono at 48 kHz, pts counted in samples."""
    track = ToneTrack()
    try:
        first, second = await track.recv(), await track.recv()
    finally:
        track.stop()
    assert (first.samples, first.sample_rate, first.format.name) == (960, 48000, "s16")
    assert first.layout.name == "mono"
    assert first.time_base == fractions.Fraction(1, 48000)
    assert (first.pts, second.pts) == (0, SAMPLES_PER_FRAME)
    assert len(bytes(first.planes[0])) >= SAMPLES_PER_FRAME * 2


def test_tone_loops_seamlessly_and_is_not_silent() -> None:
    """One second holds whole 440 Hz cycles, so its end joins its start; peaks near 8191."""
    pcm = tone_second()
    assert len(pcm) == 48000 * 2
    samples = memoryview(pcm).cast("h")
    assert max(samples) > 8000
    assert samples[0] == 0


def test_parse_media_spec_devices_files_and_test_pattern() -> None:
    """test-pattern means no inputs; devices carry their FFmpeg format; others are paths."""
    assert parse_media_spec("test-pattern") == ()
    assert parse_media_spec("v4l2:/dev/video0, alsa:default") == (
        MediaSource("/dev/video0", "v4l2"),
        MediaSource("default", "alsa"),
    )
    assert parse_media_spec("/srv/clip.mp4") == (MediaSource("/srv/clip.mp4"),)
