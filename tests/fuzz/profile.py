"""The one hypothesis profile of the fuzz tests and the fuzz benchmark, and drawing cases with it.

Fixed and small so that tests/fuzz fits its CI budget on a busy 2-core machine: derandomized
(the same cases on every run, so a failure is reproducible and CI never flakes on a new seed),
no deadline (a busy machine is slow, not wrong), and no example database written into the
checkout. Cases are drawn first and sent afterwards: the server's answers depend on live state
(calls, sockets), which hypothesis could not replay when shrinking anyway; a failure names the
exact frame or request that caused it.
"""

from __future__ import annotations

import contextlib
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

T = TypeVar("T")

PROFILE = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    # Huge strings and deep nesting are the point here, and drawing them is slow by design.
    suppress_health_check=list(HealthCheck),
)


def draw(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` cases of ``strategy`` under the fixed profile (fewer if it has no more, none
    when it has none at all: schemathesis has no invalid request for an operation that takes
    no input)."""
    found: list[T] = []

    @settings(PROFILE, max_examples=count)
    @given(strategy)
    def collect(case: T) -> None:
        found.append(case)

    with contextlib.suppress(Unsatisfiable):
        collect()
    return found
