"""Fault injection, the canary's own middleware (the rest of its stack is `legacy_service.stack`).

Plain ASGI (not BaseHTTPMiddleware) so `/chat/stream` stays event by event. The fault layer is
the I/O shell around `faults.decide`: it sleeps for the decided latency, then either answers the
decided status itself or lets the request through.
"""

from __future__ import annotations

import asyncio

from canary_service.faults import FaultDecision, FaultState, applies_to
from canary_service.metrics import CanaryMetrics
from common.asgi import ASGIApp, Receive, Scope, Send
from common.logging import get_logger
from legacy_service.errors import api_error_body, send_json

FAULT_MESSAGES = {
    500: "Injected fault: internal error",
    503: "Injected fault: service unavailable",
    400: "Injected fault: request rejected as invalid",
}


class FaultInjectionMiddleware:
    """Applies the live `FaultState` to business paths only (`faults.applies_to`)."""

    def __init__(self, app: ASGIApp, *, state: FaultState, metrics: CanaryMetrics) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics
        self.log = get_logger("canary_service.faults")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    async def _answer(self, scope: Scope, send: Send, decision: FaultDecision) -> None:
        assert decision.status is not None and decision.kind is not None  # decide() sets both
        self.metrics.faults.labels(decision.kind).inc()
        self.log.info(
            "canary.fault_injected",
            path=scope.get("path"),
            kind=decision.kind,
            status_code=decision.status,
        )
        body = api_error_body(decision.status, FAULT_MESSAGES[decision.status])
        body["fault"] = decision.kind
        await send_json(send, decision.status, body, [(b"x-canary-fault", decision.kind.encode())])
