"""Everything a request needs, built once by the app factory and opened by its lifespan."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gateway.aggregate import Aggregator, Flight
from gateway.metrics import GatewayMetrics
from gateway.routing import Decision, RoutingPolicy, series_of
from gateway.settings import GatewaySettings
from gateway.state import RoutingStateSource
from gateway.upstream import UpstreamClient

if TYPE_CHECKING:
    from gateway.proxy import Incoming


class Runtime:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        client: UpstreamClient,
        state: RoutingStateSource,
        metrics: GatewayMetrics,
        aggregator: Aggregator,
        logger: Any,
        clock=time.time,
    ) -> None:
        self.settings = settings
        self.client = client
        self.state = state
        self.metrics = metrics
        self.aggregator = aggregator
        self.logger = logger
        self.clock = clock
        self.max_body = settings.max_body_bytes
        self.access_log = settings.access_log
        self.policy = RoutingPolicy.build(
            settings.allow_users, settings.deny_users, settings.pinned_paths,
            settings.hash_variant,
        )  # fmt: skip

    def depart(self, decision: Decision, percent: int) -> Flight:
        """The request is on its way: track it in flight under the series it counts in."""
        series = series_of(decision, percent, self.settings.baseline_buckets)
        return self.aggregator.depart(series, self.clock())

    def land(self, incoming: Incoming) -> None:
        if incoming.flight is not None:
            self.aggregator.land(incoming.flight, self.clock())

    def record(self, target: str, status: int | None, incoming: Incoming, why, kind=None) -> None:
        """Count one finished request: aggregate (for the controller), metrics, one log line."""
        seconds = time.perf_counter() - incoming.started
        decision, percent = why
        series: tuple[str, ...] = (target,)
        if target == decision.target:  # a failover's legacy leg is never baseline
            series = series_of(decision, percent, self.settings.baseline_buckets)
        self.land(incoming)
        self.aggregator.record(target, status, seconds * 1000.0, self.clock(), series)
        for name in series:
            self.metrics.observe(name, status, seconds)
        if self.access_log:
            self.logger.info(
                "gateway.request",
                request_id=incoming.request_id,
                target=target,
                reason=decision.reason,
                bucket=decision.bucket,
                percent=percent,
                method=incoming.method,
                path=incoming.path,
                status=status,
                latency_ms=round(seconds * 1000.0, 3),
                error_kind=kind,
            )

    def record_failed_attempt(self, target: str, kind: str, started: float, incoming) -> None:
        """A canary attempt that failed before anything reached the client (failover follows)."""
        latency_ms = (time.perf_counter() - started) * 1000.0
        self.land(incoming)  # the canary's part is over; the legacy leg is not tracked
        self.aggregator.record(target, None, latency_ms, self.clock())
        self.metrics.upstream_error(target, kind)
        self.metrics.observe(target, None, latency_ms / 1000.0)
        self.logger.warning(
            "gateway.canary_failover", request_id=incoming.request_id, kind=kind,
            path=incoming.path,
        )  # fmt: skip

    def log_refusal(self, scope: dict[str, Any], status: int, code: str, request_id: str) -> None:
        """The gateway's own refusals never reach a target and are not counted as traffic."""
        self.logger.warning(
            "gateway.request_refused", request_id=request_id, status=status, code=code,
            method=scope["method"], path=scope["path"],
        )  # fmt: skip
