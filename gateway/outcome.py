"""One request's outcome, built once and read by every sink (stamina's `RetryDetails` habit).

The proxy holds an `Incoming` from the moment a request has arrived and been routed. When it is
over, or when a canary attempt failed and the request goes on to legacy (failover), the proxy
builds one frozen `Outcome` and hands it to `Recorder.record`, which feeds the three sinks: the
per-second aggregate (what the rollout controller judges), the Prometheus metrics, and one log
line (`gateway.request`, or `gateway.canary_failover` for the failed attempt).

A failed canary attempt is an outcome of its own: it counts as a canary error in the aggregate
and the metrics (DESIGN.md "Proxying": failover counts as a canary error), and the request it
belonged to is recorded again when legacy has answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.asgi import Headers
from gateway.aggregate import Aggregator
from gateway.metrics import GatewayMetrics
from gateway.routing import Decision, Target

CLIENT_CLOSED = 499  # nginx's convention: the client went away before the answer was complete
CLIENT_CLOSED_KIND = "client_closed"  # the client's doing: not an upstream error


@dataclass(slots=True)
class Incoming:
    """One request as the proxy handles it: what arrived, and where routing sent it."""

    method: str
    path: str
    target_path: str  # raw path + query, as received
    headers: Headers
    request_id: str
    body: bytes
    started: float  # time.perf_counter() when the request arrived
    decision: Decision
    percent: int  # the live canary percent the decision was made with


@dataclass(frozen=True, slots=True)
class Outcome:
    target: Target  # who served it: legacy after a failover
    status: int | None  # None: no upstream response (connect error, timeout, broken body)
    latency_seconds: float
    error_kind: str | None  # a GatewayError's kind, "status_5xx", "client_closed" or None
    decision: Decision
    percent: int
    request_id: str
    method: str
    path: str
    failed_over: bool = False  # a canary attempt that failed; the request went on to legacy

    @classmethod
    def of(
        cls,
        incoming: Incoming,
        target: Target,
        status: int | None,
        error_kind: str | None = None,
        *,
        since: float | None = None,
        failed_over: bool = False,
    ) -> Outcome:
        """The outcome as of now; latency counts from `since` (an attempt) or the arrival."""
        started = incoming.started if since is None else since
        return cls(
            target, status, time.perf_counter() - started, error_kind, incoming.decision,
            incoming.percent, incoming.request_id, incoming.method, incoming.path, failed_over,
        )  # fmt: skip

    @property
    def latency_ms(self) -> float:
        return self.latency_seconds * 1000.0


class Recorder:
    """The one place an `Outcome` is counted: aggregate, metrics, one log line."""

    def __init__(
        self,
        aggregator: Aggregator,
        metrics: GatewayMetrics,
        logger: Any,
        *,
        clock: Callable[[], float],
        access_log: bool,
    ) -> None:
        self.aggregator = aggregator
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.access_log = access_log

    def record(self, outcome: Outcome) -> None:
        target, status, kind = outcome.target, outcome.status, outcome.error_kind
        self.aggregator.record(target, status, outcome.latency_ms, self.clock())
        if kind is not None and kind != CLIENT_CLOSED_KIND:
            self.metrics.upstream_error(target, kind)
        self.metrics.observe(target, status, outcome.latency_seconds)
        if outcome.failed_over:
            self.logger.warning(
                "gateway.canary_failover", request_id=outcome.request_id, kind=kind,
                path=outcome.path,
            )  # fmt: skip
        elif self.access_log:
            self.logger.info(
                "gateway.request",
                request_id=outcome.request_id,
                target=target,
                reason=outcome.decision.reason,
                bucket=outcome.decision.bucket,
                percent=outcome.percent,
                method=outcome.method,
                path=outcome.path,
                status=status,
                latency_ms=round(outcome.latency_ms, 3),
                error_kind=kind,
            )
