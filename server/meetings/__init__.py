"""Meetings with people from outside: invites (``invites``), who may use them (``access``)
and the lobby where guests wait for the host (``lobby``)."""
