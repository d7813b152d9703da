"""rollout/judge/judge.py: rows in, verdicts with evidence out; slow requests seen in flight."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.aggregate import Aggregator, LatencyHistogram, TargetSecond
from rollout.judge.judge import Judge, JudgeConfig

STAGE = 1000


class Traffic:
    """Requests with real arrival and completion times through the gateway's Aggregator."""

    def __init__(self, seed: int = 3) -> None:
        self.rng = np.random.default_rng(seed)
        self.agg = Aggregator()
        self.flying: list[tuple[float, object, str]] = []  # (ends at, flight, series)

    def second(
        self, s: int, canary_latency_s: float, per_second=(5, 95), baseline_latency_s=0.4
    ) -> dict:
        rows: dict[str, TargetSecond] = {}
        n, m = (self.rng.poisson(r) for r in per_second)
        arrivals = [(s + self.rng.random(), "canary") for _ in range(n)]
        arrivals += [(s + self.rng.random(), "baseline") for _ in range(m)]
        for at, series in sorted(arrivals):
            scale = canary_latency_s if series == "canary" else baseline_latency_s
            latency = scale * float(np.exp(0.55 * self.rng.standard_normal()))
            self.flying.append((at + latency, self.agg.depart((series,), at), series))
        for ends, flight, series in sorted(self.flying, key=lambda f: f[0]):
            if ends < s + 1:
                self.agg.land(flight, ends)
                latency_ms = (ends - flight.started_at) * 1e3
                self.agg.record(series, 200, latency_ms, ends)
        self.flying = [f for f in self.flying if f[0] >= s + 1]
        for row in self.agg.drain(s + 1.0):  # the ages at s + 1 go into row s
            assert row.second == s
            rows[row.target] = row
        return rows


def test_requests_stuck_in_flight_breach_before_any_of_them_completes():
    judge = Judge(JudgeConfig(), 0, STAGE)
    traffic = Traffic()
    onset = STAGE + 120
    for s in range(STAGE, STAGE + 200):
        rows = traffic.second(s, 0.4 if s < onset else 60.0)  # from onset: a minute each
        judge.step(s, rows)
        if judge.verdict().verdict == "breach":
            break
    verdict = judge.verdict()
    assert verdict.verdict == "breach"
    assert s - onset <= 10  # seen crossing the ~1 s line, long before the 60 s completions
    slow = next(m for m in verdict.metrics if m.metric == "slow_share")
    assert slow.verdict == "breach" and slow.line == pytest.approx(1000, rel=0.2)


@pytest.mark.parametrize(
    ("floor_ms", "breaches"),
    [(50.0, False), (0.0, True)],
    ids=["default floor: 3 ms vs 1.5 ms is not slow", "no floor: any certain difference is"],
)
def test_a_difference_among_fast_requests_is_not_slow_unless_the_floor_is_lifted(
    floor_ms, breaches
):
    judge = Judge(JudgeConfig(slow_floor_ms=floor_ms), 0, STAGE)
    traffic = Traffic(seed=5)
    for s in range(STAGE, STAGE + 300):
        judge.step(s, traffic.second(s, 0.003, baseline_latency_s=0.0015))
    slow = next(m for m in judge.verdict().metrics if m.metric == "slow_share")
    assert (slow.verdict == "breach") is breaches
    assert slow.line == pytest.approx(max(floor_ms, 1.5 * np.exp(0.55 * 1.645)), rel=0.1)


def test_a_healthy_canary_is_not_judged_worse_and_says_what_is_needed():
    judge = Judge(JudgeConfig(), 0, STAGE)
    traffic = Traffic(seed=5)
    for s in range(STAGE, STAGE + 120):
        judge.step(s, traffic.second(s, 0.4))
    verdict = judge.verdict(123.0)
    assert verdict.verdict in ("not_enough_data", "healthy")
    error = next(m for m in verdict.metrics if m.metric == "error_rate")
    assert error.seen == error.canary_requests and error.needed > error.seen  # no errors yet
    assert verdict.at == 123.0 and verdict.second == STAGE + 119


def test_seconds_must_come_in_order():
    judge = Judge(JudgeConfig(), 0, STAGE)
    with pytest.raises(ValueError, match="expects second 1000"):
        judge.step(STAGE + 1, {})


# late rows -------------------------------------------------------------------------------------


def late_row(second: int, series: str, **fields) -> TargetSecond:
    return TargetSecond(second, series, **fields)


def test_folded_late_rows_are_one_more_observation_each_and_only_of_this_stage():
    judge = Judge(JudgeConfig(), 0, STAGE)
    for s in range(STAGE, STAGE + 10):
        judge.step(
            s,
            {
                "canary": late_row(s, "canary", requests=10, successes=10),
                "baseline": late_row(s, "baseline", requests=90, errors=1, successes=89),
            },
        )
    chunk = [
        (STAGE - 1, {"canary": late_row(STAGE - 1, "canary", requests=50, errors=50)}),
        (STAGE + 3, {"canary": late_row(STAGE + 3, "canary", requests=10, errors=4)}),
        (STAGE + 4, {"canary": late_row(STAGE + 4, "canary", requests=10, errors=3)}),
    ]
    assert judge.fold(chunk) == 2  # the second before the stage is not its evidence
    error = judge.shares["error_rate"]
    assert (error.canary_events, error.canary_exposure) == (7, 120)
    assert judge.last_second == STAGE + 9  # folding judges no new second


def test_a_slow_request_of_a_process_gone_quiet_counts_once_when_its_rows_come_late():
    """In flight past the line when its process stopped flushing (counted then, on time), it
    completes during the outage: the late rows count it again, which only pays back what went
    missing from the on-time second after (rollout.judge.counts), so it is counted once."""
    judge = Judge(JudgeConfig(slow_ms=1000.0), 0, STAGE)

    def canary(s, **fields):
        return {"canary": late_row(s, "canary", **fields)}

    hist = LatencyHistogram.from_dict
    arrival, age = STAGE + 5, LatencyHistogram.index_of
    for s in range(STAGE, STAGE + 10):
        if s == arrival:  # arrives at +5.2: 0.8 s old at +6, 1.8 s old at +7 (over the line)
            rows = canary(s, started=1, inflight=hist({str(age(800.0)): 1}))
        elif s == arrival + 1:
            rows = canary(s, inflight=hist({str(age(1800.0)): 1}))
        else:
            rows = {}  # from +7 the process is quiet: its rows are late
        judge.step(s, rows)
    slow = judge.shares["slow_share"]
    assert slow.canary_events == 1  # crossed at +6, seen in flight
    late = [(arrival + 2, canary(arrival + 2, inflight=hist({str(age(2800.0)): 1}))),
            (arrival + 3, canary(arrival + 3, requests=1, successes=1,
                                 latency=hist({str(age(3300.0)): 1})))]  # fmt: skip
    judge.fold(late)
    assert slow.canary_events == 1  # not twice
    judge.step(STAGE + 10, {})
    assert slow.canary_events == 1
