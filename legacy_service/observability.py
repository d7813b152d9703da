"""One log line and one metric sample per request, taken at the outermost layer so refusals
(413, 429, 422) and errors count too, with the status the client really got.

Paths outside the app's routes share one `other` label: scanners must not create series.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from common.logging import get_logger
from legacy_service.ratelimit import IPNetwork, client_ip

OTHER_PATH = "other"


class LegacyMetrics:
    """All series of the service on one injected registry (tests get a fresh one each)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "legacy_http_requests_total",
            "HTTP requests by path, method and status code.",
            ["path", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "legacy_http_request_duration_seconds",
            "Time from request start to the last byte of the response.",
            ["path"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "legacy_rate_limited_total", "Requests refused with 429.", registry=registry
        )
        self.fallbacks = Counter(
            "legacy_chat_fallbacks_total",
            "Chats answered by the Nana fallback because the model failed.",
            registry=registry,
        )
        self.personas = Counter(
            "legacy_chat_persona_total",
            "Chats answered, by persona.",
            ["persona"],
            registry=registry,
        )


def severity_for(status: int) -> str:
    if status >= 500:
        return "error"
    return "warning" if status >= 400 else "info"


class RequestObservationMiddleware:
    """Plain ASGI, outermost: times the request, then logs `legacy.request` and records it."""

    def __init__(
        self,
        app: Any,
        *,
        metrics: LegacyMetrics,
        known_paths: Collection[str],
        trusted_proxies: Collection[IPNetwork],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = frozenset(known_paths)
        self.trusted_proxies = tuple(trusted_proxies)
        self.log = get_logger("legacy_service.access")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observing_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        path = scope.get("path", "")
        label = path if path in self.known_paths else OTHER_PATH
        method = scope.get("method", "")
        self.metrics.requests.labels(label, method, str(status)).inc()
        self.metrics.duration.labels(label).observe(seconds)
        getattr(self.log, severity_for(status))(
            "legacy.request",
            method=method,
            path=path,
            client_ip=client_ip(scope, self.trusted_proxies),
            status_code=status,
            duration_ms=round(seconds * 1000, 2),
        )
