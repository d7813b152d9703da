"""From one settled second of per-series rows to the counts each check is fed (pure).

Errors and non-successes are counted when requests complete, against the requests that
completed in the same second. Slow requests are counted when they cross the latency line L:
completed over L in the second, plus in flight over L at its end, minus in flight over L at its
start (`gateway.aggregate` writes the in-flight ages at every whole second). Summed over
seconds this telescopes to "completed over L so far + in flight over L now", so a request that
is still running past L counts from the moment it crossed, and exactly once.

The exposure of slow crossings in second s is the arrivals that could be crossing: those that
arrived during [s - L, s + 1 - L), which covers the last (1 - f) of second k = floor(s - L) and
the first f of second k + 1. Arrival instants are uniform within a second for both series
alike, so the expected arrivals in that interval, (1 - f) A(k) + f A(k + 1) per series, give
the share a crossing has of being the canary's under "canary not slower". (Summing the two
seconds instead would be wrong: a second in which the canary happened to get more traffic
than usual would make its crossings look suspicious; at 1,000 req/s it breaks the test.)

Rows folded in late (a process's rows of a store outage) telescope the same way within their
own run of seconds, starting from nothing: the requests over the line that the process had in
flight when it went quiet were counted on time and then went missing (a negative count, owed
by the judge), so counting them again in the late run only pays that debt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.aggregate import LatencyHistogram, TargetSecond

CANARY = "canary"
BASELINE = "baseline"


@dataclass(frozen=True, slots=True)
class Pair:
    """Events and exposure of the canary (x of n) and of the baseline (y of m) in one second."""

    x: float
    n: float
    y: float
    m: float


def empty(series: str, second: int) -> TargetSecond:
    return TargetSecond(second, series)


def errors(canary: TargetSecond, baseline: TargetSecond) -> Pair:
    return Pair(canary.errors, canary.requests, baseline.errors, baseline.requests)


def non_successes(canary: TargetSecond, baseline: TargetSecond) -> Pair:
    return Pair(
        canary.requests - canary.successes,
        canary.requests,
        baseline.requests - baseline.successes,
        baseline.requests,
    )


def crossings(row: TargetSecond, before: LatencyHistogram, line_ms: float) -> int:
    """Requests of this series whose age passed `line_ms` during the row's second.

    Negative when requests over the line that were in flight at the start are missing at the
    end: a process died with them in flight, or its rows for this second arrive late (they are
    folded in then, rollout.judge.judge). The judge carries the deficit forward instead of
    clamping it, so such a request is never counted twice.
    """
    return row.latency.tail(line_ms) + row.inflight.tail(line_ms) - before.tail(line_ms)


def split(rows: Mapping[str, TargetSecond], second: int) -> tuple[TargetSecond, TargetSecond]:
    return rows.get(CANARY) or empty(CANARY, second), rows.get(BASELINE) or empty(BASELINE, second)
