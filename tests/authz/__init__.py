"""The authorization matrix: every route and WebSocket message type × every role, as data."""
