"""A verdict and its evidence: data with reasons, stored, shown, sent and exported as JSON.

Verdicts: `breach` (a check's evidence crossed its level: roll back, or the configured action;
`shared` when canary and baseline are both past an absolute guard, i.e. not the canary's
fault), `warn` (some evidence is half-way to its level, in log terms: notified, nothing moves),
`healthy` (every comparative check certifies the canary is not worse than the baseline by more
than the tolerance, and no guard is near its line), `not_enough_data` (with requests seen vs
needed) and `error` (the series could not be read: never a healthy default).

Per check: `statistic` (the e-detector's value E) and `threshold` (its crossing level
1/alpha), the canary/baseline `ratio` with its anytime-valid interval `[ratio_low,
ratio_high]` (None: unbounded), both series' events and exposure, `seen` (canary requests) vs
`needed` (expected canary requests to detect the minimum effect at the current rates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any


class VerdictKind(StrEnum):
    """What a verdict (or one check) says; the values are what the store, the API, the webhook
    and the logs carry."""

    HEALTHY = "healthy"
    WARN = "warn"
    BREACH = "breach"
    NOT_ENOUGH_DATA = "not_enough_data"
    ERROR = "error"  # the series could not be read: its own verdict, never a healthy default


class CheckKind(StrEnum):
    """A comparative check (canary vs baseline) or an absolute guard (canary vs a line)."""

    VS_BASELINE = "vs_baseline"
    GUARD = "guard"


@dataclass(frozen=True, slots=True)
class CheckEvidence:
    metric: str  # error_rate | success_rate | slow_share | guard_error_rate | ...
    kind: CheckKind
    verdict: VerdictKind
    statistic: float
    threshold: float
    canary_events: float
    canary_requests: float
    baseline_events: float
    baseline_requests: float
    seen: int
    needed: int | None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    canary_rate: float | None = None
    baseline_rate: float | None = None
    line: float | None = None  # guards: the absolute line; slow_share: the latency line (ms)
    baseline_statistic: float | None = None  # guards: the same test on the baseline
    shared: bool = False  # guards: canary and baseline both past the line

    @property
    def evidence(self) -> float:
        """log E / log(level): 1.0 means crossed; what `rollout_evidence` exports."""
        if self.statistic <= 0:
            return 0.0
        return max(0.0, math.log(self.statistic)) / math.log(self.threshold)

    def describe(self) -> str:
        """`error_rate 5.2x baseline [2.8, 11] (E=3.1e4 >= 2.5e4; canary 40/600, ...)`."""
        counts = (
            f"canary {_n(self.canary_events)}/{_n(self.canary_requests)}, "
            f"baseline {_n(self.baseline_events)}/{_n(self.baseline_requests)}"
        )
        level = f"E={self.statistic:.3g} vs {self.threshold:.3g}"
        if self.kind == CheckKind.GUARD:
            who = "canary and baseline" if self.shared else "canary"
            rate = _pct(self.canary_rate)
            return f"{self.metric} {who} over {_pct(self.line)} (canary {rate}; {level}; {counts})"
        high = "inf" if self.ratio_high is None else f"{self.ratio_high:.3g}"
        interval = f"[{_g(self.ratio_low)}, {high}]"
        if self.ratio is None:  # no baseline events: a ratio has no value, its bounds still do
            rates = f"{_pct(self.canary_rate)} vs baseline {_pct(self.baseline_rate)}"
            return f"{self.metric} {rates}, ratio {interval} ({level}; {counts})"
        return f"{self.metric} {self.ratio:.3g}x baseline {interval} ({level}; {counts})"


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictKind
    metrics: tuple[CheckEvidence, ...] = ()
    at: float | None = None
    detail: str | None = None
    shared: bool = False  # a breach that is not the canary's fault (both past a guard)
    second: int | None = None  # the last settled second judged

    def worst(self, kind: VerdictKind) -> tuple[CheckEvidence, ...]:
        return tuple(m for m in self.metrics if m.verdict == kind)

    def reason(self) -> str:
        failing = self.worst(self.verdict)
        if self.verdict in (VerdictKind.BREACH, VerdictKind.WARN) and failing:
            head = f"{self.verdict} (not the canary's fault)" if self.shared else self.verdict
            return f"{head}: " + "; ".join(m.describe() for m in failing)
        return self.detail or self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "at": self.at,
            "second": self.second,
            "detail": self.detail,
            "shared": self.shared,
            "metrics": [{**asdict(m), "evidence": round(m.evidence, 4)} for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        names = {f.name for f in fields(CheckEvidence)}
        metrics = tuple(
            CheckEvidence(
                **{
                    **{k: v for k, v in m.items() if k in names},
                    "kind": CheckKind(m["kind"]),
                    "verdict": VerdictKind(m["verdict"]),
                }
            )
            for m in data.get("metrics", ())
        )
        return cls(
            VerdictKind(data["verdict"]),
            metrics,
            data.get("at"),
            data.get("detail"),
            bool(data.get("shared", False)),
            data.get("second"),
        )


def failed_read(detail: str, at: float | None = None) -> Verdict:
    """The series could not be read: never healthy, never a breach."""
    return Verdict(VerdictKind.ERROR, (), at, detail)


def _n(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"
