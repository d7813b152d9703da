"""One log line and one metric sample per request, taken at the outermost layer so refusals
(413, 429, 422) and errors count too, with the status the client really got.

Paths outside the app's routes share one `other` label: scanners must not create series.
The middleware is shared with the canary; what each records is its own `Observer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from common.asgi import ASGIApp, Message, Receive, Scope, Send
from common.logging import get_logger
from legacy_service.ratelimit import IPNetwork, client_ip

OTHER_PATH = "other"
Observer = Callable[[str, str, int, float], None]  # (path, method, status, seconds)


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

    def observer(self, known_paths: Collection[str]) -> Observer:
        known = frozenset(known_paths)

        def observe(path: str, method: str, status: int, seconds: float) -> None:
            label = path if path in known else OTHER_PATH
            self.requests.labels(label, method, str(status)).inc()
            self.duration.labels(label).observe(seconds)

        return observe

    def count_rejection(self, reason: str, path: str) -> None:
        if reason == "rate_limited":
            self.rate_limited.inc()


async def metrics_endpoint(request: Request) -> Response:
    """`/metrics` of either service: the app's own registry, never the global one."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


def severity_for(status: int) -> str:
    if status >= 500:
        return "error"
    return "warning" if status >= 400 else "info"


class RequestObservationMiddleware:
    """Plain ASGI, outermost: times the request, logs `<service>.request` and calls `observe`.

    `observe_at_start` samples at the response start instead of the last byte (the canary's
    histogram is time to first byte, so a long SSE stream does not count as a slow request).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        observe: Observer,
        trusted_proxies: Collection[IPNetwork],
        observe_at_start: bool = False,
    ) -> None:
        self.app = app
        self.event = f"{service}.request"
        self.observe = observe
        self.observe_at_start = observe_at_start
        self.trusted_proxies = tuple(trusted_proxies)
        self.log = get_logger(f"{service}_service.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.observe_at_start:
                    self._observe(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            seconds = time.perf_counter() - started
            if not self.observe_at_start:
                self._observe(scope, status, seconds)
            self._log(scope, status, seconds)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        self.observe(scope.get("path", ""), scope.get("method", ""), status, seconds)

    def _log(self, scope: Scope, status: int, seconds: float) -> None:
        getattr(self.log, severity_for(status))(
            self.event,
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            client_ip=client_ip(scope, self.trusted_proxies),
            status_code=status,
            duration_ms=round(seconds * 1000, 2),
        )
