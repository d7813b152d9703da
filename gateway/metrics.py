"""Prometheus metrics of the gateway, on an injected registry (no user ids as labels).

Label children are bound once per (target, status), so the hot path does one dict lookup, not
a label resolution.
The latency buckets reach past the runbook's 20 s rollback threshold.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 15.0, 17.0, 20.0, 30.0, 45.0, 60.0, 120.0,
)  # fmt: skip


def status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry, percent: Callable[[], float]) -> None:
        self.requests = Counter(
            "gateway_requests",
            "Proxied requests by target and status class ('error': no upstream response).",
            ["target", "status_class"],
            registry=registry,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds",
            "Time from request received to response fully sent, by target.",
            ["target"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Failures talking to an upstream, by target and kind.",
            ["target", "kind"],
            registry=registry,
        )
        self.percent = Gauge(
            "gateway_canary_percent",
            "Canary percent this gateway process is routing with.",
            registry=registry,
        )
        self.percent.set_function(percent)
        self._bound: dict[tuple[str, int | None], tuple[Counter, Histogram]] = {}

    def observe(self, target: str, status: int | None, seconds: float) -> None:
        bound = self._bound.get((target, status))
        if bound is None:
            bound = self._bind(target, status)
        bound[0].inc()
        bound[1].observe(seconds)

    def _bind(self, target: str, status: int | None) -> tuple[Counter, Histogram]:
        """Children bound on first use (a series shows in /metrics once it has a request), one
        pair per (target, status) so the hot path does one lookup and no formatting."""
        counter = self.requests.labels(target, status_class(status))
        bound = self._bound[(target, status)] = (counter, self.duration.labels(target))
        return bound

    def upstream_error(self, target: str, kind: str) -> None:
        self.upstream_errors.labels(target, kind).inc()
