"""Reconnect backoff: exponential ceiling, full jitter, cap and reset."""

from __future__ import annotations

import random

import pytest

from kiosk.backoff import Backoff


def test_backoff_ceiling_doubles_from_base_to_cap() -> None:
    """The window starts at 0.5 s, doubles per attempt and stops growing at 30 s."""
    backoff = Backoff(rng=random.Random(1))
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        backoff.next_delay()
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_backoff_delays_stay_within_the_window() -> None:
    """Every delay lies in [0, ceiling] of its attempt, even after thousands of attempts."""
    backoff = Backoff(rng=random.Random(2))
    for _ in range(2000):
        ceiling = backoff.ceiling()
        assert 0.0 <= backoff.next_delay() <= ceiling
    assert backoff.ceiling() == 30.0


def test_backoff_is_jittered() -> None:
    """Delays at the cap are spread over the window, not all the same (full jitter)."""
    backoff = Backoff(rng=random.Random(3))
    backoff.attempt = 20
    delays = [backoff.next_delay() for _ in range(200)]
    assert len(set(delays)) == 200
    assert min(delays) < 10.0 < 20.0 < max(delays)


def test_backoff_reset_returns_to_base() -> None:
    """After a successful connection the next window is the base again."""
    backoff = Backoff(rng=random.Random(4))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() <= 0.5


def test_backoff_rejects_nonsense_bounds() -> None:
    """A zero base or a cap below the base is a configuration error."""
    with pytest.raises(ValueError):
        Backoff(base_s=0)
    with pytest.raises(ValueError):
        Backoff(base_s=2, cap_s=1)
