"""Jittered exponential backoff for reconnecting ("full jitter", as in AWS's architecture blog)."""

from __future__ import annotations

import random

BASE_S = 0.5
CAP_S = 30.0


class Backoff:
    """Delays for successive reconnect attempts: uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads a fleet of tablets that lost the server at the same moment (a restart)
    over the whole window instead of letting them reconnect in synchronised waves.
    """

    def __init__(
        self, base_s: float = BASE_S, cap_s: float = CAP_S, rng: random.Random | None = None
    ) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("need 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # min() before the power would still overflow for huge attempts; clamp the exponent.
        return min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 64))

    def next_delay(self) -> float:
        """The delay before the next attempt; each call widens the window up to the cap."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the base after a successful connection."""
        self.attempt = 0
