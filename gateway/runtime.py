"""Everything a request needs, built once by the app factory and opened by its lifespan."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from common.asgi import Scope
from common.logging import LineBuffer, info_enabled
from gateway.aggregate import Aggregator
from gateway.metrics import GatewayMetrics
from gateway.outcome import Recorder
from gateway.routing import RoutingPolicy
from gateway.settings import GatewaySettings
from gateway.state import RoutingStateSource
from gateway.upstream import UpstreamClient


class Runtime:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        client: UpstreamClient,
        state: RoutingStateSource,
        metrics: GatewayMetrics,
        aggregator: Aggregator | None,
        logger: Any,
        clock: Callable[[], float] = time.time,
        access_stream: Any = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.state = state
        self.metrics = metrics
        self.aggregator = aggregator
        self.logger = logger
        self.max_body = settings.max_body_bytes
        access_on = settings.access_log and info_enabled(settings.log_level)
        self.access = LineBuffer(access_stream) if access_on else None
        self.recorder = Recorder(aggregator, metrics, logger, clock=clock, access=self.access)
        self.policy = RoutingPolicy.build(
            settings.allow_users, settings.deny_users, settings.pinned_paths,
            settings.hash_variant,
        )  # fmt: skip

    def log_refusal(self, scope: Scope, status: int, code: str, request_id: str) -> None:
        """The gateway's own refusals never reach a target and are not counted as traffic."""
        self.logger.warning(
            "gateway.request_refused", request_id=request_id, status=status, code=code,
            method=scope["method"], path=scope["path"],
        )  # fmt: skip
