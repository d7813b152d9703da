"""gateway/outcome.py: one Outcome feeds the aggregate, the metrics and the log line, exactly."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time

import pytest
import structlog
from prometheus_client import CollectorRegistry
from structlog.testing import LogCapture

from common.logging import LineBuffer
from gateway.aggregate import Aggregator
from gateway.metrics import GatewayMetrics
from gateway.outcome import CLIENT_CLOSED, CLIENT_CLOSED_KIND, Incoming, Outcome, Recorder
from gateway.routing import CANARY, LEGACY, Decision, Reason

NOW = 1_000.25
HASHED = Decision(CANARY, Reason.HASH, 3)


def incoming(decision: Decision = HASHED, started: float = 0.0) -> Incoming:
    return Incoming("POST", "/chat", "/chat?x=1", [], "rid-1", b"{}", started, decision, 5)


def outcome(target=CANARY, status=200, kind=None, failed_over=False, seconds=0.25) -> Outcome:
    return Outcome(target, status, seconds, kind, HASHED, 5, "rid-1", "POST", "/chat", failed_over)


def recorder(
    access_log: bool = True,
) -> tuple[Recorder, Aggregator, CollectorRegistry, list[dict]]:
    """A Recorder on real sinks; its log lines (structlog's and the access lines, parsed) land in
    the returned list, whatever the global structlog configuration other tests left behind
    (levels included)."""
    registry, aggregator, capture = CollectorRegistry(), Aggregator(), LogCapture()
    access = LineBuffer(JsonLines(capture.entries)) if access_log else None
    metrics = GatewayMetrics(registry, lambda: 5)
    logger = structlog.wrap_logger(
        None,
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    rec = Recorder(aggregator, metrics, logger, clock=lambda: NOW, access=access)
    return rec, aggregator, registry, capture.entries


class JsonLines:
    """A text stream that parses every line it is given into `into`."""

    def __init__(self, into: list[dict]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        assert text.endswith("\n")
        self.into.extend(json.loads(line) for line in text.splitlines())

    def flush(self) -> None:
        pass


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_finished_request_reaches_all_three_sinks():
    rec, aggregator, registry, logs = recorder()
    rec.record(outcome())
    [row] = aggregator.drain()
    assert (row.second, row.target, row.requests, row.successes, row.errors) == (
        1000,
        CANARY,
        1,
        1,
        0,
    )
    assert row.latency.quantile(0.5) == pytest.approx(250.0, rel=0.02)
    assert sample(registry, "gateway_requests_total", target="canary", status_class="2xx") == 1
    assert sample(registry, "gateway_request_duration_seconds_sum", target="canary") == 0.25
    stamp = logs[0].pop("timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
    assert logs == [
        {
            "event": "gateway.request",
            "severity": "INFO",
            "request_id": "rid-1",
            "target": "canary",
            "reason": "hash",
            "bucket": 3,
            "percent": 5,
            "method": "POST",
            "path": "/chat",
            "status": 200,
            "latency_ms": 250.0,
            "error_kind": None,
        }
    ]


@pytest.mark.parametrize(
    ("why", "status", "kind", "status_class", "upstream_errors"),
    [
        ("an upstream 5xx streams through: no upstream error", 503, None, "5xx", 0),
        ("a timeout is an upstream error", None, "timeout", "error", 1),
        ("the client going away is not the upstream's fault", CLIENT_CLOSED, CLIENT_CLOSED_KIND,
         "4xx", 0),
    ],
)  # fmt: skip
def test_upstream_errors_count_only_failures_talking_to_the_upstream(
    why, status, kind, status_class, upstream_errors
):
    rec, _, registry, _ = recorder()
    rec.record(outcome(LEGACY, status, kind))
    requests = sample(
        registry, "gateway_requests_total", target="legacy", status_class=status_class
    )
    assert requests == 1, why
    errors = sample(registry, "gateway_upstream_errors_total", target="legacy", kind=str(kind))
    assert errors == upstream_errors, why


def test_a_failed_canary_attempt_counts_as_a_canary_error_and_logs_the_failover():
    rec, aggregator, registry, logs = recorder(access_log=True)
    rec.record(outcome(CANARY, None, "connect", failed_over=True))
    [row] = aggregator.drain()
    assert (row.target, row.requests, row.errors) == (CANARY, 1, 1)
    assert sample(registry, "gateway_upstream_errors_total", target="canary", kind="connect") == 1
    assert sample(registry, "gateway_requests_total", target="canary", status_class="error") == 1
    assert logs == [
        {
            "event": "gateway.canary_failover",
            "log_level": "warning",
            "request_id": "rid-1",
            "kind": "connect",
            "path": "/chat",
        }
    ]


def test_access_log_off_still_counts_everything():
    rec, aggregator, registry, logs = recorder(access_log=False)
    rec.record(outcome())
    assert logs == []
    assert len(aggregator.drain()) == 1
    assert sample(registry, "gateway_requests_total", target="canary", status_class="2xx") == 1


def test_outcome_of_copies_the_routing_and_measures_from_arrival_or_the_attempt():
    req = incoming(Decision(LEGACY, Reason.NO_IDENTITY), started=time.perf_counter() - 10.0)
    attempt_started = time.perf_counter()
    whole = Outcome.of(req, LEGACY, 200)
    assert (whole.decision.reason, whole.percent, whole.request_id) == ("no_identity", 5, "rid-1")
    assert (whole.method, whole.path, whole.error_kind, whole.failed_over) == (
        "POST", "/chat", None, False,
    )  # fmt: skip
    assert whole.latency_seconds >= 10.0  # from the request's arrival
    attempt = Outcome.of(req, CANARY, None, "connect", since=attempt_started, failed_over=True)
    assert attempt.latency_seconds < 10.0  # from the attempt's start
    assert attempt.latency_ms == attempt.latency_seconds * 1000.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        attempt.status = 200  # type: ignore[misc]
