"""Prometheus metrics of the rollout, on an injected registry (never the global one).

Every process exports the state it last read (`rollout_canary_percent`, `rollout_state`,
`rollout_seconds_in_stage`); counters count what this process did (transitions it wrote,
verdicts its controller reached), so sum them across processes. The leader's controller also
exports the judge's evidence per check: `rollout_evidence{metric}` (log E / log of its level:
1 means crossed) and `rollout_effect_ratio{metric}` (canary/baseline rate, comparative checks).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from rollout.judge.evidence import Verdict
from rollout.machine import Count, RolloutState, Status


class RolloutMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.percent = Gauge("rollout_canary_percent", "Live canary percent.", registry=r)
        self.state = Gauge("rollout_state", "1 for the current state.", ["state"], registry=r)
        self.transitions = Counter(
            "rollout_transitions_total", "State transitions written.", ["reason"], registry=r
        )
        self.verdicts = Counter(
            "rollout_verdicts_total", "Per-metric verdicts.", ["metric", "verdict"], registry=r
        )
        self.rollbacks = Counter("rollout_rollbacks_total", "Rollbacks written.", registry=r)
        self.seconds_in_stage = Gauge(
            "rollout_seconds_in_stage", "Seconds since the current stage began.", registry=r
        )
        self.evidence = Gauge(
            "rollout_evidence",
            "Judge evidence per check: log E / log(level); 1 = crossed.",
            ["metric"],
            registry=r,
        )
        self.effect_ratio = Gauge(
            "rollout_effect_ratio",
            "Canary/baseline rate ratio per comparative check.",
            ["metric"],
            registry=r,
        )
        self.aggregates_dropped = Counter(
            "rollout_aggregates_dropped",
            "Aggregate rows (second x series) dropped: kept past ROLLOUT_BUFFER_SECONDS unflushed.",
            registry=r,
        )
        self.aggregates_buffered = Gauge(
            "rollout_aggregates_buffered", "Aggregate rows waiting for the store.", registry=r
        )

    def observe_state(self, state: RolloutState, now: float) -> None:
        self.percent.set(state.percent)
        for name in Status:
            self.state.labels(state=name).set(1 if name == state.status else 0)
        entered = state.entered_at
        self.seconds_in_stage.set(max(0.0, now - entered) if entered is not None else 0)

    def count(self, effect: Count) -> None:
        if effect.counter == "rollbacks":
            self.rollbacks.inc()
        else:
            self.transitions.labels(reason=effect.reason).inc()

    def observe_verdict(self, verdict: Verdict) -> None:
        for m in verdict.metrics:
            self.verdicts.labels(metric=m.metric, verdict=m.verdict).inc()
            self.evidence.labels(metric=m.metric).set(m.evidence)
            if m.ratio is not None:
                self.effect_ratio.labels(metric=m.metric).set(m.ratio)
        if not verdict.metrics:
            self.verdicts.labels(metric="all", verdict=verdict.verdict).inc()
