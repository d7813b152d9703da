"""Per-second, per-target outcome aggregates: what the rollout controller's windows are built from.

Every proxied request is recorded once (`Aggregator.record`) into the bucket of its second and
target. Every ~1 s a flusher drains the buckets (`Aggregator.drain`) and appends them to the
rollout store; rows are additive, so several gateway processes (and several drains of the same
second) simply sum up when a window is read.

Outcome classes follow DESIGN.md "Health policy": error = upstream 5xx or a gateway-side failure
(connect error, timeout); success = 2xx/3xx; 4xx (and 1xx) are neither.

Latency is kept in a log-bucketed histogram (DDSketch-style): bucket i holds values in
(GAMMA**(i-1), GAMMA**i] milliseconds and is represented by 2*GAMMA**i/(GAMMA+1), so any quantile
read from it is within RELATIVE_ACCURACY (2%) of a true sample value. It is sparse (a dict), small
to store (JSON of index -> count) and merges by adding counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RELATIVE_ACCURACY = 0.02
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
MIN_LATENCY_MS = 0.01  # values below are clamped: sub-10 µs precision is meaningless here

SUCCESS = "success"
ERROR = "error"
NEUTRAL = "neutral"


def outcome_of(status: int | None) -> str:
    """Classify a proxied response; `None` means the upstream never answered (transport error)."""
    if status is None or status >= 500:
        return ERROR
    if 200 <= status < 400:
        return SUCCESS
    return NEUTRAL


@dataclass
class LatencyHistogram:
    counts: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def index_of(latency_ms: float) -> int:
        return math.ceil(math.log(max(latency_ms, MIN_LATENCY_MS)) / _LOG_GAMMA)

    @staticmethod
    def value_of(index: int) -> float:
        return 2 * GAMMA**index / (GAMMA + 1)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, latency_ms: float, count: int = 1) -> None:
        i = self.index_of(latency_ms)
        self.counts[i] = self.counts.get(i, 0) + count

    def merge(self, other: LatencyHistogram) -> None:
        for i, n in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + n

    def quantile(self, q: float) -> float | None:
        """The q-quantile in ms (nearest-rank), or None when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        total = self.total
        if total == 0:
            return None
        rank = max(1, math.ceil(q * total))
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                return self.value_of(i)
        return self.value_of(max(self.counts))  # unreachable; keeps type checkers calm

    def to_dict(self) -> dict[str, int]:
        return {str(i): n for i, n in self.counts.items()}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> LatencyHistogram:
        return cls({int(i): int(n) for i, n in data.items()})


@dataclass
class TargetSecond:
    """What one process saw for one target during one wall-clock second."""

    second: int
    target: str
    requests: int = 0
    errors: int = 0
    successes: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, outcome: str, latency_ms: float) -> None:
        self.requests += 1
        if outcome == ERROR:
            self.errors += 1
        elif outcome == SUCCESS:
            self.successes += 1
        self.latency.add(latency_ms)

    def merge(self, other: TargetSecond) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.successes += other.successes
        self.latency.merge(other.latency)


class Aggregator:
    """In-process buckets keyed by (second, target). Not thread-safe: one event loop owns it."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, str], TargetSecond] = {}

    def record(self, target: str, status: int | None, latency_ms: float, now: float) -> None:
        key = (int(now), target)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TargetSecond(second=key[0], target=target)
        bucket.add(outcome_of(status), latency_ms)

    def drain(self) -> list[TargetSecond]:
        """Hand over everything recorded so far (partial current second included)."""
        buckets, self._buckets = self._buckets, {}
        return sorted(buckets.values(), key=lambda b: (b.second, b.target))

    def restore(self, rows: list[TargetSecond]) -> None:
        """Put drained rows back (the store was unwritable); they merge with anything newer."""
        for row in rows:
            key = (row.second, row.target)
            if key in self._buckets:
                self._buckets[key].merge(row)
            else:
                self._buckets[key] = row
