"""Staff login: sessions, CSRF, throttling and the one authorization helper."""
