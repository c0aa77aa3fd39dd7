"""The authorization matrix as data: who may call each route and send each message type.

Each route names the role kinds it lets through (its gate) and, when its path takes an object id,
the kind of object whose owner decides the rest. The walker (test_matrix.py) expands every row
into one cell per identity and owner: a staff member may act on objects of citizens she may see
(nurses and carers: their own teams' citizens; planner, visitator, admin: their whole
organisation; nobody: another organisation's). To add a route: add a row here; the test fails
until every route of ``create_app`` has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Role kinds. "guest" is a relative holding her link (over HTTP: an anonymous client that knows
# the token of /r/<token>; over the WebSocket: a hello with her call link).
ANONYMOUS = "anonymous"
TABLET = "tablet"
GUEST = "guest"
NURSE = "nurse"
CARER = "carer"
PLANNER = "planner"
VISITATOR = "visitator"
ADMIN = "admin"

EVERYONE = frozenset({ANONYMOUS, TABLET, GUEST, NURSE, CARER, PLANNER, VISITATOR, ADMIN})
STAFF = frozenset({NURSE, CARER, PLANNER, VISITATOR, ADMIN})
NOBODY: frozenset[str] = frozenset()
TABLETS = frozenset({TABLET})
TABLET_ROLES = frozenset({ADMIN, NURSE})
# The groups the server's own role lists name (server/api/plans.py PLANNERS and CHANGERS,
# server/meetings/invites.py HOST_ROLES, ...): written out here, not imported, so that a change
# on the server's side shows up as a failing cell.
PLANNERS = frozenset({PLANNER, VISITATOR, ADMIN})
CHANGERS = PLANNERS | {NURSE}
HOSTS = frozenset({NURSE, VISITATOR})
NOT_CARER = STAFF - {CARER}
FEW_NEW_FACES = frozenset({NURSE, PLANNER, VISITATOR})


Body = Mapping[str, object]
AUTO_ANSWER: Body = {
    "kind": "auto_answer",
    "given_by": {"kind": "citizen"},
    "scope": {"windows": [{"start": "07:00", "end": "10:00", "weekdays": [0]}], "callers": []},
    "note": "authz matrix",
}
NEW_STAFF: Body = {
    "username": "matrix-carer",
    "display_name": "Matrix",
    "role": "carer",
    "password": "a long matrix password 1",
}


@dataclass(frozen=True)
class Row:
    """One route: the role kinds let through, and what its ids belong to."""

    gate: frozenset[str]
    # "citizen": the path's ids belong to one citizen (the owner varies: team A, team B, other
    # organisation); None: no id, or ids the matrix does not seed (it sends an unknown id).
    owner: str | None = None
    # A capability URL: only whoever holds the token gets in (the matrix has the token of the
    # relative's /r/ link only; everyone else, and every other token, must be refused).
    capability: bool = False
    walk: bool = True  # False: not requested by the HTTP walk (see ``why``)
    # Ends the session it is sent with, or the object it names: walked after everything else
    # (after the first identity's call, the object may be gone: a 404 proves nothing then).
    last: bool = False
    why: str = ""
    query: str = ""  # a query parameter that takes the owner's id of this name
    # A valid body, so that the role check is reached: the API validates a body before anything
    # else, and a row without one proves only that a refused role's `{}` had no effect (400).
    body: Body | None = None


CITIZEN = "citizen"

# (method, path pattern as aiohttp formats it) → Row. HEAD routes mirror their GET.
ROUTES: dict[tuple[str, str], Row] = {
    # -- pages ------------------------------------------------------------------------------
    ("GET", "/"): Row(STAFF),
    ("GET", "/admin"): Row(frozenset({ADMIN})),
    ("GET", "/admin/audit"): Row(frozenset({ADMIN})),
    ("GET", "/admin/audit.csv"): Row(frozenset({ADMIN})),
    ("GET", "/call/{citizen_id}"): Row(STAFF, CITIZEN),
    ("GET", "/citizens"): Row(STAFF),
    ("GET", "/citizens/{citizen_id}"): Row(STAFF, CITIZEN),
    ("GET", "/citizens/{citizen_id}/plans"): Row(STAFF, CITIZEN),
    ("GET", "/figures"): Row(STAFF),
    ("GET", "/imports"): Row(PLANNERS),
    ("GET", "/planning"): Row(PLANNERS),
    ("GET", "/inbox/items"): Row(STAFF),
    ("GET", "/today/rows"): Row(STAFF),
    ("GET", "/login"): Row(EVERYONE),
    ("POST", "/login"): Row(EVERYONE),
    ("POST", "/logout"): Row(EVERYONE, last=True),
    ("GET", "/kiosk"): Row(EVERYONE),
    ("GET", "/kiosk/"): Row(EVERYONE),
    ("GET", "/r/{token}"): Row(NOBODY, capability=True),
    ("GET", "/join/{token}"): Row(NOBODY, capability=True),
    ("POST", "/join/{token}"): Row(NOBODY, capability=True),
    ("GET", "/calendar/{token}.ics"): Row(NOBODY, capability=True),
    ("GET", "/static"): Row(EVERYONE, walk=False, why="static files"),
    ("GET", "/kiosk/static"): Row(EVERYONE, walk=False, why="static files"),
    ("GET", "/ws"): Row(EVERYONE, walk=False, why="the WebSocket: see MESSAGES"),
    # -- operations ---------------------------------------------------------------------------
    ("GET", "/healthz"): Row(EVERYONE),
    ("GET", "/readyz"): Row(EVERYONE),
    # Without METRICS_TOKEN it answers this machine only; the matrix asks from loopback.
    ("GET", "/metrics"): Row(EVERYONE, why="loopback, no token configured"),
    ("GET", "/api/openapi.json"): Row(EVERYONE),
    ("GET", "/api/signaling-schema.json"): Row(EVERYONE),
    # -- administration -------------------------------------------------------------------
    ("GET", "/api/admin/audit"): Row(frozenset({ADMIN})),
    ("GET", "/api/admin/settings"): Row(frozenset({ADMIN})),
    ("POST", "/api/admin/settings"): Row(frozenset({ADMIN})),
    ("GET", "/api/admin/staff"): Row(frozenset({ADMIN})),
    # Walked with the last rows, one identity at a time: two administrators creating the same
    # username at once get a 500 (check-then-insert race in server/admin/staff.create_staff).
    ("POST", "/api/admin/staff"): Row(frozenset({ADMIN}), body=NEW_STAFF, last=True),
    ("POST", "/api/admin/staff/{staff_id}/active"): Row(frozenset({ADMIN})),
    ("GET", "/api/admin/tablets"): Row(frozenset({ADMIN})),
    ("POST", "/api/admin/teams"): Row(frozenset({ADMIN}), body={"name": "Team Matrix"}),
    ("GET", "/api/guides"): Row(STAFF),
    ("GET", "/api/guides/{code}"): Row(STAFF),
    ("PUT", "/api/guides/{code}"): Row(frozenset({ADMIN})),
    ("DELETE", "/api/guides/{code}"): Row(frozenset({ADMIN})),
    # -- the signed-in staff member ---------------------------------------------------------
    ("GET", "/api/me"): Row(STAFF),
    ("POST", "/api/me/language"): Row(STAFF, body={"language": "da"}),
    ("GET", "/api/console/colleagues"): Row(STAFF),
    ("GET", "/api/console/today"): Row(STAFF),
    ("GET", "/api/daylist"): Row(STAFF),
    ("GET", "/api/figures"): Row(STAFF),
    ("GET", "/api/notices/delays"): Row(STAFF),
    ("POST", "/api/selftest/offer"): Row(STAFF),
    ("GET", "/api/calendar/feeds"): Row(STAFF),
    ("POST", "/api/calendar/feeds"): Row(STAFF),
    ("POST", "/api/calendar/feeds/{feed_id}/revoke"): Row(STAFF),
    ("POST", "/api/calendar/feeds/{feed_id}/rotate"): Row(STAFF),
    ("GET", "/api/inbox"): Row(STAFF),
    ("GET", "/api/inbox/summary"): Row(STAFF),
    ("GET", "/api/inbox/{item_id}"): Row(STAFF),
    ("POST", "/api/inbox/{item_id}/dismiss"): Row(STAFF),
    ("POST", "/api/inbox/{item_id}/done"): Row(STAFF),
    ("POST", "/api/inbox/{item_id}/release"): Row(STAFF),
    ("POST", "/api/inbox/{item_id}/take"): Row(STAFF),
    ("DELETE", "/api/invites/{invite_id}"): Row(STAFF),
    ("POST", "/api/outcomes/{outcome_id}/amend"): Row(STAFF),
    ("POST", "/api/outcomes/{outcome_id}/edit"): Row(STAFF),
    ("POST", "/api/pauses"): Row(PLANNERS),
    ("POST", "/api/pauses/{pause_id}/remove"): Row(PLANNERS),
    ("GET", "/api/import-jobs"): Row(PLANNERS),
    ("POST", "/api/import-jobs"): Row(PLANNERS),
    ("GET", "/api/import-jobs/{job_id}"): Row(PLANNERS),
    ("POST", "/api/imports"): Row(PLANNERS),
    # -- citizens -------------------------------------------------------------------------
    ("GET", "/api/citizens"): Row(STAFF),
    ("GET", "/api/citizens/readiness"): Row(STAFF),
    ("GET", "/api/citizens/{citizen_id}"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/overview"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/notices"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/agreements"): Row(STAFF, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/agreements"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/agreements/{sheet_id}/versions"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/agreements/{sheet_id}/versions/{version}"): Row(
        STAFF, CITIZEN
    ),
    ("POST", "/api/agreements/{sheet_id}/edit"): Row(STAFF, CITIZEN),
    ("GET", "/api/citizens/{citizen_id}/consents"): Row(STAFF, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/consents"): Row(NOT_CARER, CITIZEN, body=AUTO_ANSWER),
    ("POST", "/api/consents/{consent_id}/withdraw"): Row(STAFF, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/contact-persons"): Row(PLANNERS, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/few-new-faces"): Row(
        FEW_NEW_FACES, CITIZEN, body={"few_new_faces": False}
    ),
    ("POST", "/api/citizens/{citizen_id}/sms-number"): Row(
        PLANNERS, CITIZEN, body={"phone": None}, why="server/api/notices.py SMS_ROLES"
    ),
    # Tablets: the organisation's ``tablet_roles`` (world.py sets both to admin and nurse).
    ("POST", "/api/citizens/{citizen_id}/enrol"): Row(TABLET_ROLES, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/kiosk/revoke"): Row(TABLET_ROLES, CITIZEN, last=True),
    ("GET", "/api/citizens/{citizen_id}/relatives"): Row(STAFF, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/relatives"): Row(NOT_CARER, CITIZEN),
    ("POST", "/api/citizens/{citizen_id}/relatives/{relative_id}/links"): Row(
        NOT_CARER, CITIZEN, body={"purpose": "agreements"}
    ),
    ("DELETE", "/api/citizens/{citizen_id}/relatives/{relative_id}/links/{link_id}"): Row(
        NOT_CARER, CITIZEN
    ),
    ("POST", "/api/relatives/{relative_id}"): Row(NOT_CARER, CITIZEN),
    ("POST", "/api/relatives/{relative_id}/permissions"): Row(STAFF, CITIZEN),
    ("POST", "/api/relatives/{relative_id}/remove"): Row(NOT_CARER, CITIZEN, last=True),
    # -- plans ----------------------------------------------------------------------------
    ("GET", "/api/plans"): Row(STAFF, CITIZEN, query="citizen_id"),
    ("POST", "/api/plans"): Row(PLANNERS),
    ("POST", "/api/plans/preview"): Row(STAFF),
    ("GET", "/api/plans/{plan_id}"): Row(STAFF, CITIZEN),
    ("POST", "/api/plans/{plan_id}"): Row(PLANNERS, CITIZEN),
    ("GET", "/api/plans/{plan_id}/history"): Row(STAFF, CITIZEN),
    ("POST", "/api/plans/{plan_id}/end"): Row(
        PLANNERS, CITIZEN, body={"last_day": "2199-12-31", "reason": "authz matrix"}
    ),
    ("POST", "/api/plans/{plan_id}/adjustments"): Row(PLANNERS, CITIZEN),
    ("POST", "/api/plans/{plan_id}/adjustments/{adjustment_id}/remove"): Row(PLANNERS, CITIZEN),
    ("POST", "/api/plans/{plan_id}/changes"): Row(CHANGERS, CITIZEN),
    ("POST", "/api/plans/{plan_id}/changes/{date}/remove"): Row(CHANGERS, CITIZEN),
    # -- visits ---------------------------------------------------------------------------
    ("POST", "/api/visits/{visit_id}/assign"): Row(STAFF, CITIZEN, body={"unassign": True}),
    ("POST", "/api/visits/{visit_id}/delay"): Row(STAFF, CITIZEN, body={"minutes": 5}),
    ("GET", "/api/visits/{visit_id}/dialogue"): Row(STAFF, CITIZEN),
    ("POST", "/api/visits/{visit_id}/dialogue/copy-to-agreement"): Row(HOSTS, CITIZEN),
    ("POST", "/api/visits/{visit_id}/dialogue/notes"): Row(HOSTS, CITIZEN, body={"notes": {}}),
    ("POST", "/api/visits/{visit_id}/follow-up-tasks"): Row(STAFF, CITIZEN),
    ("GET", "/api/visits/{visit_id}/invites"): Row(STAFF, CITIZEN),
    ("POST", "/api/visits/{visit_id}/invites"): Row(STAFF, CITIZEN),
    ("POST", "/api/visits/{visit_id}/outcome"): Row(STAFF, CITIZEN),
    ("GET", "/api/visits/{visit_id}/outcomes"): Row(STAFF, CITIZEN),
    # -- the tablet -----------------------------------------------------------------------
    ("GET", "/api/kiosk/me"): Row(frozenset({TABLET})),
    ("POST", "/api/kiosk/call-back"): Row(frozenset({TABLET})),
    ("POST", "/api/kiosk/meeting-answers"): Row(frozenset({TABLET})),
    ("POST", "/api/kiosk/notices/{notice_id}/shown"): Row(frozenset({TABLET})),
    ("POST", "/api/kiosk/selftest"): Row(TABLETS),
    ("GET", "/api/kiosk/pairing"): Row(TABLETS, why="bearer: the pairing secret or a token"),
    ("POST", "/api/kiosk/pairing"): Row(TABLETS, why="bearer: the pairing secret or a token"),
}

# WebSocket client message types → the role kinds that may send them (PROTOCOL.md's table).
# Sent with ids of no call, a denied one must get `forbidden`/`not_authenticated`; an allowed one
# any other answer (``unknown_call``, ``offline``, ...): the matrix checks the role gate only.
PARTICIPANTS = frozenset({TABLET, GUEST}) | STAFF
MESSAGES: dict[str, frozenset[str]] = {
    "hello": PARTICIPANTS,  # an anonymous hello (no credentials) gets `not_authenticated`
    "ping": PARTICIPANTS,
    "presence-subscribe": STAFF,
    "ring": STAFF | {GUEST},
    "accept": PARTICIPANTS,
    "decline": PARTICIPANTS,
    "cancel": PARTICIPANTS,
    "invite": STAFF,
    "offer": PARTICIPANTS,
    "answer": PARTICIPANTS,
    "candidate": PARTICIPANTS,
    "hangup": PARTICIPANTS,
    "device-state": frozenset({TABLET}),
    "admit": STAFF,
    "deny": STAFF,
    "remove": STAFF,
}
