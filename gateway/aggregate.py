"""Per-second, per-target outcome aggregates: what the rollout controller's windows are built from.

Every proxied request is recorded once (`Aggregator.record`) into the bucket of its second and
series. Every ~1 s a flusher drains the buckets (`Aggregator.drain`) and appends them to the
rollout store; rows are additive, so several gateway processes (and several drains of the same
second) simply sum up when a window is read.

Series: `legacy` and `canary` (where requests went) and `baseline`, the legacy requests routed
by the hash at the same time (`gateway.routing.in_baseline`), which the judge compares the
canary with. A legacy request in the baseline is counted in both `legacy` and `baseline`.

In flight: a request is known to be slow once it has been in flight longer than the latency
line, long before it completes. So the aggregator also tracks requests in flight
(`depart` .. `land`) and, for every whole second `b`, writes into row `b - 1` of each series
the histogram of the ages (`b - start`) of the requests that were in flight at the instant `b`
(`inflight`), exactly once per process and boundary, whenever the drain happens. With `started`
(arrivals per second) this lets the judge count, per second, the requests that crossed a line
L: completed over L, plus in flight over L at the end of the second, minus in flight over L at
its start (`rollout.judge.counts`). Each request is counted once, at the second it crossed.

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

    def add_index(self, index: int) -> None:
        """One value already bucketed (`index_of`): a request counted in two series is
        bucketed once."""
        self.counts[index] = self.counts.get(index, 0) + 1

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

    def tail(self, latency_ms: float) -> int:
        """How many values are over `latency_ms`, at bucket resolution (bucket index above)."""
        line = self.index_of(latency_ms)
        return sum(n for i, n in self.counts.items() if i > line)


@dataclass
class TargetSecond:
    """What one process saw for one series during one wall-clock second.

    `requests`..`latency` describe requests that completed in the second; `started` counts the
    ones that arrived in it; `inflight` holds the ages (ms) of the requests still in flight at
    the second's end.
    """

    second: int
    target: str
    requests: int = 0
    errors: int = 0
    successes: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    started: int = 0
    inflight: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, outcome: str, latency_ms: float) -> None:
        self.add_index(outcome, LatencyHistogram.index_of(latency_ms))

    def add_index(self, outcome: str, latency_index: int) -> None:
        self.requests += 1
        if outcome == ERROR:
            self.errors += 1
        elif outcome == SUCCESS:
            self.successes += 1
        self.latency.add_index(latency_index)

    def merge(self, other: TargetSecond) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.successes += other.successes
        self.latency.merge(other.latency)
        self.started += other.started
        self.inflight.merge(other.inflight)


@dataclass(eq=False, slots=True)
class Flight:
    """One request in flight: the series it counts in and when it arrived (wall clock)."""

    series: tuple[str, ...]
    started_at: float
    landed: bool = False


class Aggregator:
    """In-process buckets keyed by (second, series). Not thread-safe: one event loop owns it."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, str], TargetSecond] = {}
        self._flights: set[Flight] = set()  # Flight hashes by identity (eq=False)
        self._snapshot_through: int | None = None  # last boundary whose in-flight ages went out
        self._pending: dict[int, dict[str, LatencyHistogram]] = {}

    def _bucket(self, second: int, series: str) -> TargetSecond:
        key = (second, series)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TargetSecond(second=second, target=series)
        return bucket

    def record(
        self,
        target: str,
        status: int | None,
        latency_ms: float,
        now: float,
        series: tuple[str, ...] | None = None,
    ) -> None:
        """Count one completed request in `series` (default: just its target); classified and
        bucketed once, whatever the number of series (the hot path: one call per request)."""
        outcome = outcome_of(status)
        index = LatencyHistogram.index_of(latency_ms)
        second = int(now)
        for name in series or (target,):
            self._bucket(second, name).add_index(outcome, index)

    def depart(self, series: tuple[str, ...], now: float) -> Flight:
        """A request arrived: count it in `started` and track it until it lands."""
        if self._snapshot_through is None:
            self._snapshot_through = int(now)
        second = int(now)
        for name in series:
            self._bucket(second, name).started += 1
        flight = Flight(series, now)
        self._flights.add(flight)
        return flight

    def land(self, flight: Flight, now: float) -> None:
        """The request is over (idempotent). Its age goes to every boundary it was in flight
        at whose snapshot has not been written yet."""
        if flight.landed:
            return
        flight.landed = True
        self._flights.discard(flight)
        first = max((self._snapshot_through or 0) + 1, math.floor(flight.started_at) + 1)
        for boundary in range(first, int(now) + 1):
            ages = self._pending.setdefault(boundary, {})
            for name in flight.series:
                ages.setdefault(name, LatencyHistogram()).add((boundary - flight.started_at) * 1e3)

    def drain(self, now: float | None = None) -> list[TargetSecond]:
        """Hand over everything recorded so far (partial current second included) and, given
        `now`, the in-flight ages of every whole second passed since the last drain."""
        if now is not None:
            self._snapshot(int(now))
        buckets, self._buckets = self._buckets, {}
        return sorted(buckets.values(), key=lambda b: (b.second, b.target))

    def _snapshot(self, through: int) -> None:
        if self._snapshot_through is None:
            return
        for boundary in range(self._snapshot_through + 1, through + 1):
            ages = self._pending.pop(boundary, {})
            for flight in self._flights:
                if flight.started_at < boundary:
                    for name in flight.series:
                        age_ms = (boundary - flight.started_at) * 1e3
                        ages.setdefault(name, LatencyHistogram()).add(age_ms)
            for name, hist in ages.items():
                self._bucket(boundary - 1, name).inflight.merge(hist)
        self._snapshot_through = max(self._snapshot_through, through)

    def restore(self, rows: list[TargetSecond]) -> None:
        """Put drained rows back (the store was unwritable); they merge with anything newer."""
        for row in rows:
            key = (row.second, row.target)
            if key in self._buckets:
                self._buckets[key].merge(row)
            else:
                self._buckets[key] = row
