"""Recurrence rules in plain words, with the rule itself as the fallback."""

from __future__ import annotations

import pytest

from server.scheduling.rrule_text import describe


@pytest.mark.parametrize(
    ("rule", "language", "words"),
    [
        ("FREQ=DAILY", "da", "Hver dag"),
        ("FREQ=DAILY;INTERVAL=2", "da", "Hver 2. dag"),
        ("FREQ=WEEKLY;BYDAY=TU,FR", "da", "Tirsdag og fredag"),
        ("FREQ=WEEKLY;BYDAY=FR,MO,WE", "da", "Mandag, onsdag og fredag"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "da", "Hver 2. uge: Mandag"),
        ("FREQ=WEEKLY", "en", "Every week"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", "en", "Saturday and Sunday"),
        ("FREQ=MONTHLY;BYDAY=1MO", "da", "FREQ=MONTHLY;BYDAY=1MO"),
        ("FREQ=DAILY;BYHOUR=8,12", "da", "FREQ=DAILY;BYHOUR=8,12"),
    ],
)
def test_rrule_text_describes_common_rules(rule: str, language: str, words: str) -> None:
    """Daily and weekday rules read as words; unusual rules fall back to the rule itself."""
    assert describe(rule, language) == words
