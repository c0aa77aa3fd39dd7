"""The connection self-test peer: the one place the server terminates media."""
