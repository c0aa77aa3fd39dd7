"""Counting failures per key in a sliding window, in memory (one process is enough here)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from .errors import TooManyRequests
from .translatable import N_

CODE_FAILURES_PER_STAFF = 5  # wrong pairing codes per FAILURE_WINDOW_S before a staff member waits
RELATIVE_LINK_FAILURES = 10  # wrong relative-link tokens per FAILURE_WINDOW_S per client address
FAILURE_WINDOW_S = 600.0


@dataclass
class FailureLimiter:
    """Wrong pairing codes per staff member in a sliding window.

    Guessing needs about 500,000 tries per live code; five per ten minutes makes it hopeless.
    """

    limit: int = CODE_FAILURES_PER_STAFF
    window_s: float = FAILURE_WINDOW_S
    # Keyed by staff id (pairing codes) or by client address (relatives' links).
    _failures: dict[int | str, deque[float]] = field(default_factory=dict)

    def check(self, staff_id: int | str, now: float | None = None) -> None:
        """Raise TooManyRequests while the staff member has too many recent failures."""
        now = time.monotonic() if now is None else now
        times = self._recent(staff_id, now)
        if len(times) >= self.limit:
            raise TooManyRequests(
                N_("For mange forkerte koder. Vent lidt, og prøv igen."),
                retry_after=max(1, int(self.window_s - (now - times[0]))),
            )

    def record(self, staff_id: int | str, now: float | None = None) -> None:
        """Count one wrong code."""
        now = time.monotonic() if now is None else now
        self._recent(staff_id, now).append(now)

    def _recent(self, staff_id: int | str, now: float) -> deque[float]:
        times = self._failures.setdefault(staff_id, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times
