"""Plain ASGI middleware of the canary: one JSON log line per request, and fault injection.

Plain ASGI (not BaseHTTPMiddleware) so `/chat/stream` stays event by event. The fault layer is
the I/O shell around `faults.decide`: it sleeps for the decided latency, then either answers the
decided status itself or lets the request through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Any

from canary_service.faults import FaultDecision, FaultState, applies_to
from canary_service.metrics import CanaryMetrics
from common.logging import get_logger
from legacy_service.errors import api_error_body, send_json
from legacy_service.ratelimit import IPNetwork, client_ip

FAULT_MESSAGES = {
    500: "Injected fault: internal error",
    503: "Injected fault: service unavailable",
    400: "Injected fault: request rejected as invalid",
}


class RequestLogMiddleware:
    """Logs `canary.request` (method, path, client_ip, status_code, duration_ms) and counts it."""

    def __init__(
        self, app: Any, *, metrics: CanaryMetrics, trusted_proxies: Collection[IPNetwork]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.trusted_proxies = tuple(trusted_proxies)
        self.log = get_logger("canary_service.request")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.metrics.observe_request(scope["path"], status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self._log(scope, status, started)

    def _log(self, scope: dict[str, Any], status: int, started: float) -> None:
        self.log.info(
            "canary.request",
            method=scope.get("method"),
            path=scope.get("path"),
            client_ip=client_ip(scope, self.trusted_proxies),
            status_code=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


class FaultInjectionMiddleware:
    """Applies the live `FaultState` to business paths only (`faults.applies_to`)."""

    def __init__(self, app: Any, *, state: FaultState, metrics: CanaryMetrics) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics
        self.log = get_logger("canary_service.faults")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not applies_to(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        decision = self.state.next_decision()
        if decision.delay_ms > 0:
            self.metrics.faults.labels("latency").inc()
            await asyncio.sleep(decision.delay_ms / 1000)
        if decision.status is None:
            await self.app(scope, receive, send)
            return
        await self._answer(scope, send, decision)

    async def _answer(self, scope: dict[str, Any], send: Any, decision: FaultDecision) -> None:
        assert decision.status is not None
        self.metrics.faults.labels(decision.kind or "error").inc()
        self.log.info(
            "canary.fault_injected",
            path=scope.get("path"),
            kind=decision.kind,
            status_code=decision.status,
        )
        body = api_error_body(decision.status, FAULT_MESSAGES[decision.status])
        body["fault"] = decision.kind
        await send_json(send, decision.status, body, [(b"x-canary-fault", decision.kind.encode())])
