"""Who is making a request: a plain value built once per request from the session."""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import Role


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    """A logged-in staff member and the scope their role and teams give them."""

    staff_id: int
    organisation_id: int
    username: str
    display_name: str
    role: Role
    team_ids: frozenset[int]
    session_id: int
    csrf_token: str
    language: str = "da"

    @property
    def actor(self) -> str:
        """How this identity is named in the audit log."""
        return f"staff:{self.username}"

    @property
    def org_wide(self) -> bool:
        """Visitators, planners and administrators see every citizen of their organisation."""
        return self.role in {Role.VISITATOR, Role.PLANNER, Role.ADMIN}
