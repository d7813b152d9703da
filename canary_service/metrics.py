"""Prometheus metrics of the canary, on an injected `CollectorRegistry` (never the global one).

Labels stay low-cardinality: a fixed set of path names (anything else is `other`), status class,
fault kind, fallback reason. No user ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

KNOWN_PATHS = frozenset(
    {
        "/",
        "/health",
        "/metrics",
        "/chat",
        "/chat/stream",
        "/api/v2/recommend/personalized",
        "/admin/faults",
    }
)


def path_label(path: str) -> str:
    return path if path in KNOWN_PATHS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class CanaryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "canary_requests_total",
            "HTTP requests answered by the canary.",
            ["path", "status_class"],
            registry=registry,
        )
        self.duration = Histogram(
            "canary_request_duration_seconds",
            "Time to the response start, by path.",
            ["path"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30),
        )
        self.faults = Counter(
            "canary_faults_injected_total",
            "Requests altered by fault injection, by kind (error, invalid_response, latency).",
            ["kind"],
            registry=registry,
        )
        self.model_answers = Counter(
            "canary_model_answers_total",
            "Lumen answers by outcome (success or fallback).",
            ["outcome"],
            registry=registry,
        )
        self.rejected = Counter(
            "canary_rejected_total",
            "Requests refused before the app: rate_limited or body_too_large.",
            ["reason"],
            registry=registry,
        )

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        label = path_label(path)
        self.requests.labels(label, status_class(status)).inc()
        self.duration.labels(label).observe(seconds)
