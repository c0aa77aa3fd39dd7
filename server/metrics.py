"""Prometheus metrics on a per-app registry (no process-global state)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True, slots=True)
class Metrics:
    """The collectors the app updates."""

    requests: Counter
    request_seconds: Histogram
    logins: Counter
    websockets: Gauge
    calls: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        """Register every collector on ``registry``."""
        return cls(
            requests=Counter(
                "screenvisit_http_requests",
                "HTTP requests by route and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            request_seconds=Histogram(
                "screenvisit_http_request_seconds",
                "HTTP request latency",
                ["route"],
                registry=registry,
            ),
            logins=Counter(
                "screenvisit_logins", "Login attempts by result", ["result"], registry=registry
            ),
            websockets=Gauge(
                "screenvisit_websockets", "Open signalling sockets", registry=registry
            ),
            calls=Counter(
                "screenvisit_calls", "Calls by end reason", ["reason"], registry=registry
            ),
        )
