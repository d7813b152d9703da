"""One request's outcome, built once and read by every sink (stamina's `RetryDetails` habit).

The proxy holds an `Incoming` from the moment a request has arrived and been routed. When it is
over, or when a canary attempt failed and the request goes on to legacy (failover), the proxy
builds one frozen `Outcome` and hands it to `Recorder.record`, which feeds the three sinks: the
per-second aggregate (what the rollout controller judges), the Prometheus metrics, and one log
line (`gateway.request`, or `gateway.canary_failover` for the failed attempt). Access lines
(`gateway.request`) go through a `LineBuffer` (orjson, batched), everything else through
structlog, so an access line may reach the stream up to 100 ms after a later structlog line.

A failed canary attempt is an outcome of its own: it counts as a canary error in the aggregate
and the metrics (DESIGN.md "Proxying": failover counts as a canary error), and the request it
belonged to is recorded again when legacy has answered.

Series: routing decides once which aggregate series a request counts in (`routing.series_of`:
`legacy` plus `baseline` for hash-routed legacy traffic), and the `Outcome` carries them. A
failover's legacy leg counts in `legacy` only: it was not routed by the hash, so it is never
baseline.

In flight: the proxy departs every routed request (`Recorder.depart`: counted in `started`,
tracked by the aggregator until it lands) and its outcome lands it; the failed canary attempt
lands it too (the canary's part is over), and the proxy lands it once more in a `finally`
(idempotent), so a request that ends any other way (cancelled) never stays in flight. A body
the client did not finish never reaches routing, so it is never departed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.asgi import Headers
from common.logging import LineBuffer, iso_now
from gateway.aggregate import Aggregator, Flight
from gateway.metrics import GatewayMetrics
from gateway.routing import Decision, Series, Target, only

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
    series: tuple[Series, ...] = ()  # `routing.series_of(decision, ...)`; empty: the target's
    flight: Flight | None = None  # `Recorder.depart`: tracked in flight until it lands


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
    series: tuple[Series, ...] = ()  # the aggregate series it counts in; empty: the target's
    flight: Flight | None = None  # lands when this outcome is recorded

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
        """The outcome as of now; latency counts from `since` (an attempt) or the arrival.

        Served where routing sent it: the routed series, and it lands the flight. Served by
        legacy after a failover: `legacy` only, and nothing to land (the attempt landed it).
        """
        started = incoming.started if since is None else since
        routed = target == incoming.decision.target
        return cls(
            target, status, time.perf_counter() - started, error_kind, incoming.decision,
            incoming.percent, incoming.request_id, incoming.method, incoming.path, failed_over,
            incoming.series if routed else only(target), incoming.flight if routed else None,
        )  # fmt: skip

    @property
    def latency_ms(self) -> float:
        return self.latency_seconds * 1000.0


class Recorder:
    """The one place an `Outcome` is counted: aggregate, metrics, one log line."""

    def __init__(
        self,
        aggregator: Aggregator | None,
        metrics: GatewayMetrics,
        logger: Any,
        *,
        clock: Callable[[], float],
        access: LineBuffer | None,
    ) -> None:
        """`access`: where the access lines go (None: access log off); other events go to
        `logger`."""
        self.aggregator = aggregator
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.access = access

    def depart(self, series: tuple[Series, ...]) -> Flight | None:
        """A routed request is on its way: counted in `started`, tracked in flight (nothing
        to track without an aggregator)."""
        if self.aggregator is None:
            return None
        return self.aggregator.depart(series, self.clock())

    def land(self, flight: Flight | None) -> None:
        """It is no longer in flight (idempotent; the proxy's `finally` calls it again)."""
        if flight is not None and not flight.landed and self.aggregator is not None:
            self.aggregator.land(flight, self.clock())

    def record(self, outcome: Outcome) -> None:
        target, status, kind = outcome.target, outcome.status, outcome.error_kind
        series = outcome.series or only(target)
        if self.aggregator is not None:
            now = self.clock()
            if outcome.flight is not None:
                self.aggregator.land(outcome.flight, now)
            self.aggregator.record(target, status, outcome.latency_ms, now, series)
        if kind is not None and kind != CLIENT_CLOSED_KIND:
            self.metrics.upstream_error(target, kind)
        for name in series:  # /metrics shows the baseline too (target="baseline")
            self.metrics.observe(name, status, outcome.latency_seconds)
        if outcome.failed_over:
            self.logger.warning(
                "gateway.canary_failover", request_id=outcome.request_id, kind=kind,
                path=outcome.path,
            )  # fmt: skip
        elif self.access is not None:
            self.access.write({
                "request_id": outcome.request_id,
                "target": target,
                "reason": outcome.decision.reason,
                "bucket": outcome.decision.bucket,
                "percent": outcome.percent,
                "method": outcome.method,
                "path": outcome.path,
                "status": status,
                "latency_ms": round(outcome.latency_ms, 3),
                "error_kind": kind,
                "event": "gateway.request",
                "severity": "INFO",
                "timestamp": iso_now(),
            })  # fmt: skip
