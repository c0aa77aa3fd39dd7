"""Typed scheduling errors and the problems plan validation reports, with stable string codes."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar


class Severity(StrEnum):
    """How much a plan problem matters: errors block saving, warnings are shown to the planner."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """One finding about a visit plan; `code` is stable, `message` is for humans (English)."""

    code: str
    severity: Severity
    message: str
    source: str = "plan"  # "plan" or "adj:<id>": which series of the plan the problem is about
    on: date | None = None  # the local date concerned, when the problem is tied to one day


class SchedulingError(Exception):
    """Base class for scheduling errors; the edge maps `code` to HTTP/JSON replies."""

    code: ClassVar[str] = "scheduling_error"


class InvalidRecurrence(SchedulingError, ValueError):
    """An RRULE string that cannot be parsed, or uses a part the plan forbids."""

    code: ClassVar[str] = "invalid_rrule"

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"invalid RRULE {rule!r}: {reason}")
        self.rule = rule
        self.reason = reason


class PlanInvalid(SchedulingError):
    """A visit plan with at least one error-severity problem."""

    code: ClassVar[str] = "plan_invalid"

    def __init__(self, problems: list[PlanProblem]) -> None:
        codes = ", ".join(problem.code for problem in problems)
        super().__init__(f"visit plan is invalid: {codes}")
        self.problems = problems
