"""Health policy: turn window statistics into a verdict that carries its numbers (pure).

DESIGN.md "Health policy": error rate = errors / requests, success rate = successes / requests
(4xx count in neither, so a canary rejecting valid requests shows in the success rate), P95 from
the merged latency histogram. Each metric is judged over its own window: breach and warn are
strict (`>` for error rate and P95, `<` for success rate; a value equal to a threshold is not
over it). A window with fewer than `min_samples` requests is "not_enough_data" for that metric,
the P95 included: a P95 of three requests is noise, not evidence. Not enough data never
breaches and never advances.

Overall verdict precedence: breach > warn > not_enough_data > healthy. So one breaching metric
rolls back even while another window is still filling, and "healthy" means every metric had
enough samples and none was past its warn threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gateway.aggregate import LatencyHistogram

if TYPE_CHECKING:
    from rollout.settings import RolloutSettings


class VerdictKind(StrEnum):
    """What a verdict says; the values are what the store, the API and the logs carry."""

    HEALTHY = "healthy"
    WARN = "warn"
    BREACH = "breach"
    NOT_ENOUGH_DATA = "not_enough_data"
    ERROR = "error"  # the statistics could not be read: its own verdict, never a healthy default


_RANK = {
    VerdictKind.HEALTHY: 0,
    VerdictKind.NOT_ENOUGH_DATA: 1,
    VerdictKind.ERROR: 1,
    VerdictKind.WARN: 2,
    VerdictKind.BREACH: 3,
}


@dataclass(frozen=True)
class WindowStats:
    requests: int = 0
    errors: int = 0
    successes: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass(frozen=True, slots=True)
class MetricRule:
    metric: str
    window_seconds: int
    warn: float
    breach: float
    target: float
    higher_is_worse: bool

    def worse_than(self, value: float, threshold: float) -> bool:
        return value > threshold if self.higher_is_worse else value < threshold


def rules_from_settings(s: RolloutSettings) -> tuple[MetricRule, ...]:
    """The three DESIGN.md metrics from `RolloutSettings`."""
    return (
        MetricRule(
            "error_rate",
            s.error_window_seconds,
            s.warn_error_rate,
            s.breach_error_rate,
            s.target_error_rate,
            True,
        ),
        MetricRule(
            "p95_ms", s.p95_window_seconds, s.warn_p95_ms, s.breach_p95_ms, s.target_p95_ms, True
        ),
        MetricRule(
            "success_rate",
            s.success_window_seconds,
            s.warn_success_rate,
            s.breach_success_rate,
            s.target_success_rate,
            False,
        ),
    )


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    metric: str
    verdict: VerdictKind
    value: float | None
    warn: float
    breach: float
    target: float
    window_seconds: int
    samples: int
    needed: int

    def describe(self) -> str:
        """`error_rate 0.5 > 0.05 over 30s (120 samples)`: the reason line of a rollback."""
        op = ">" if self.metric != "success_rate" else "<"
        limit = self.breach if self.verdict == VerdictKind.BREACH else self.warn
        return (
            f"{self.metric} {_fmt(self.value)} {op} {_fmt(limit)} "
            f"over {self.window_seconds}s ({self.samples} samples)"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictKind
    metrics: tuple[MetricVerdict, ...] = ()
    at: float | None = None
    detail: str | None = None

    def worst(self, kind: VerdictKind) -> tuple[MetricVerdict, ...]:
        return tuple(m for m in self.metrics if m.verdict == kind)

    def reason(self) -> str:
        failing = self.worst(self.verdict)
        if self.verdict in (VerdictKind.BREACH, VerdictKind.WARN) and failing:
            return f"{self.verdict}: " + "; ".join(m.describe() for m in failing)
        return self.detail or self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "at": self.at,
            "detail": self.detail,
            "metrics": [asdict(m) for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        metrics = tuple(
            MetricVerdict(**{**m, "verdict": VerdictKind(m["verdict"])})
            for m in data.get("metrics", ())
        )
        return cls(VerdictKind(data["verdict"]), metrics, data.get("at"), data.get("detail"))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def metric_value(metric: str, stats: WindowStats) -> float | None:
    if stats.requests == 0:
        return None
    if metric == "error_rate":
        return stats.errors / stats.requests
    if metric == "success_rate":
        return stats.successes / stats.requests
    if metric == "p95_ms":
        return stats.latency.quantile(0.95)
    raise ValueError(f"unknown metric {metric!r}")


def judge(rule: MetricRule, stats: WindowStats, min_samples: int) -> MetricVerdict:
    samples = stats.latency.total if rule.metric == "p95_ms" else stats.requests
    value = metric_value(rule.metric, stats)
    if samples < min_samples or value is None:
        verdict = VerdictKind.NOT_ENOUGH_DATA
    elif rule.worse_than(value, rule.breach):
        verdict = VerdictKind.BREACH
    elif rule.worse_than(value, rule.warn):
        verdict = VerdictKind.WARN
    else:
        verdict = VerdictKind.HEALTHY
    return MetricVerdict(
        rule.metric,
        verdict,
        value,
        rule.warn,
        rule.breach,
        rule.target,
        rule.window_seconds,
        samples,
        min_samples,
    )


def assess(
    stats_by_window: Mapping[int, WindowStats],
    rules: Sequence[MetricRule],
    min_samples: int,
    *,
    at: float | None = None,
) -> Verdict:
    """Judge every rule over its window; a window missing from the mapping counts as empty."""
    judged = tuple(
        judge(rule, stats_by_window.get(rule.window_seconds, WindowStats()), min_samples)
        for rule in rules
    )
    overall = max(
        (m.verdict for m in judged), key=_RANK.__getitem__, default=VerdictKind.NOT_ENOUGH_DATA
    )
    return Verdict(overall, judged, at)


def failed_read(detail: str, at: float | None = None) -> Verdict:
    """The statistics could not be read: never healthy, never a breach."""
    return Verdict(VerdictKind.ERROR, (), at, detail)
