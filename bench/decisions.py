"""`make bench-decisions`: Monte Carlo of the judge's decisions on a fake clock.

It drives the real judge (`rollout.judge.judge.Judge.step_counts` in batch mode: the same
checks, e-detectors, budget split and verdict rules the controller runs, one numpy lane per
simulated soak) with per-second counts drawn from Poisson traffic, every second, no coarser
steps. The canary runs at the 5 % stage, so the baseline (all hash-routed legacy) has 19x its
traffic. Latency is lognormal with the baseline's P95 at 1 s (median 0.4 s); the slow line is
that P95. A slow request crosses the line at arrival + line, not at completion (what the
gateway's in-flight ages let the judge see), so crossings are drawn per arrival second and
placed at their crossing second; the exposure is the arrivals of the two seconds the judge
looks at. The row-level check at the end pushes individual requests with real arrival and
completion times through the gateway's Aggregator (depart / land / record / drain) and the
judge's `step(rows)`, to show the count model and the real pipeline agree.

Output: the table (false rollbacks per 1,000 soaks with a Clopper-Pearson 95 % interval,
median / p90 time to rollback after onset, share of runs never judged, i.e. still
not_enough_data at the end) and one last `key=value` line.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from gateway.aggregate import Aggregator, Flight, TargetSecond
from rollout.judge.counts import Pair
from rollout.judge.judge import Judge, JudgeConfig, SecondCounts

HOUR = 3600
BASELINE_PER_CANARY = 19.0  # the 5 % stage, baseline = every hash-routed legacy request
SIGMA = math.log(2.5) / 1.645  # lognormal: P95 = 2.5 x median
MEDIAN_S = 0.4  # so the baseline P95 is 1 s
LINE_S = 1.02  # the baseline P95 as the judge's histogram sees it (upper edge of its bucket)
GUARD_LINE_S = 20.4  # ROLLOUT_BREACH_P95_MS at bucket resolution
NEUTRAL = 0.005  # 4xx share of both series: non-successes that are not errors
PROFILES = {"default": 6 * HOUR, "demo": 60.0}  # late_onset_scale_seconds
#: A second's evidence is acted on when it has ended and settled (ROLLOUT_SETTLE_SECONDS 1.5):
#: added to every time to rollback, so the times are wall-clock times from the onset.
DECISION_DELAY_S = 1.0 + 1.5


def slow_share(scale: float, line_s: float) -> float:
    """P(latency > line) when the baseline's lognormal latency is multiplied by `scale`."""
    z = (math.log(line_s / (MEDIAN_S * scale))) / SIGMA
    return 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    rate: float  # canary requests per second
    error: float  # canary error rate once the fault is on
    baseline_error: float = 0.01
    latency_scale: float = 1.0  # canary latency multiplier once the fault is on
    onset_s: int = 0
    duration_s: int = 3600
    runs: int = 200
    profile: str = "default"
    healthy: bool = False
    key: str | None = None

    @property
    def label(self) -> str:
        late = ""
        if self.onset_s:
            when = f"{self.onset_s / HOUR:g} h" if self.onset_s >= HOUR else f"{self.onset_s} s"
            late = f" from {when}"
        return f"{self.name}{late}"


@dataclass
class Result:
    scenario: Scenario
    breached: np.ndarray  # bool per run
    seconds: np.ndarray  # time of the rollback after onset (nan: none)
    never_judged: float

    def false_per_1000(self) -> tuple[float, float, float]:
        k, n = int(self.breached.sum()), len(self.breached)
        low, high = clopper_pearson(k, n)
        return 1000 * k / n, 1000 * low, 1000 * high

    def times(self) -> tuple[float, float]:
        caught = self.seconds[~np.isnan(self.seconds)]
        if len(caught) < len(self.seconds) / 2:
            return math.nan, math.nan
        everyone = np.where(np.isnan(self.seconds), np.inf, self.seconds)
        return float(np.median(everyone)), float(np.quantile(everyone, 0.9))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval, by bisection on the binomial tail (no scipy needed)."""
    a = (1 - confidence) / 2

    def tail_at_least(p: float) -> float:  # P(X >= k)
        return 1.0 - sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k))

    def tail_at_most(p: float) -> float:  # P(X <= k)
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))

    low = 0.0 if k == 0 else _bisect(lambda p: tail_at_least(p) - a, increasing=True)
    high = 1.0 if k == n else _bisect(lambda p: tail_at_most(p) - a, increasing=False)
    return low, high


def _bisect(f: Callable[[float], float], *, increasing: bool) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (f(mid) < 0) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class Traffic:
    """Per-second counts for `runs` soaks at once, fault switched on at `onset_s`.

    Draws are made a chunk of seconds at a time (numpy is fast per array, slow per call);
    crossings are placed in a ring of future seconds.
    """

    CHUNK = 512

    def __init__(self, sc: Scenario, rng: np.random.Generator) -> None:
        self.sc, self.rng = sc, rng
        self.ring = 24  # arrival seconds remembered (the guard line is ~20 s)
        zeros = np.zeros((self.ring, sc.runs))
        self.arrivals = [zeros.copy(), zeros.copy()]  # canary, baseline
        self.crossings = {line: [zeros.copy(), zeros.copy()] for line in (LINE_S, GUARD_LINE_S)}
        self._chunk: dict[str, np.ndarray] = {}
        self._chunk_start = 1

    def _draw(self, first: int) -> None:
        sc, rng, k = self.sc, self.rng, (self.CHUNK, self.sc.runs)
        on = (np.arange(first, first + self.CHUNK) >= sc.onset_s)[:, None]
        # Errors, 4xx and successes as independent Poisson streams: the same joint law as a
        # Poisson number of requests split by outcome, and much cheaper than binomial draws.
        p_c = np.where(on, sc.error, sc.baseline_error)
        rate_b = sc.rate * BASELINE_PER_CANARY
        e_c, e_b = rng.poisson(sc.rate * p_c, k), rng.poisson(rate_b * sc.baseline_error, k)
        neutral_c = rng.poisson(sc.rate * (1 - p_c) * NEUTRAL, k)
        neutral_b = rng.poisson(rate_b * (1 - sc.baseline_error) * NEUTRAL, k)
        n = e_c + neutral_c + rng.poisson(sc.rate * (1 - p_c) * (1 - NEUTRAL), k)
        m = e_b + neutral_b + rng.poisson(rate_b * (1 - sc.baseline_error) * (1 - NEUTRAL), k)
        chunk = {"n": n, "m": m, "e_c": e_c, "e_b": e_b,
                 "ns_c": e_c + neutral_c, "ns_b": e_b + neutral_b}  # fmt: skip
        for line in (LINE_S, GUARD_LINE_S):
            share_c = np.where(on, slow_share(sc.latency_scale, line), slow_share(1.0, line))
            for name, arrivals, share in (("c", n, share_c), ("b", m, slow_share(1.0, line))):
                slow = rng.binomial(arrivals, share)
                early = rng.binomial(slow, 1.0 - (line - int(line)))
                chunk[f"early_{name}_{line}"], chunk[f"late_{name}_{line}"] = early, slow - early
        self._chunk = {key: value.astype(float) for key, value in chunk.items()}
        self._chunk_start = first

    def second(self, s: int) -> SecondCounts:
        if not self._chunk or s >= self._chunk_start + self.CHUNK:
            self._draw(s)
        c, j, i = self._chunk, s - self._chunk_start, s % self.ring
        n, m = c["n"][j], c["m"][j]
        self.arrivals[0][i], self.arrivals[1][i] = n, m
        for line, rings in self.crossings.items():
            whole = int(line)
            for side, name in enumerate("cb"):
                rings[side][(s + whole) % self.ring] += c[f"early_{name}_{line}"][j]
                rings[side][(s + whole + 1) % self.ring] += c[f"late_{name}_{line}"][j]
        slow, guard = self._pair(s, LINE_S), self._pair(s, GUARD_LINE_S)
        errors = Pair(c["e_c"][j], n, c["e_b"][j], m)
        return SecondCounts(errors, Pair(c["ns_c"][j], n, c["ns_b"][j], m), slow, guard)

    def _pair(self, s: int, line: float) -> Pair:
        i, r = s % self.ring, self.ring
        rings = self.crossings[line]
        x, y = rings[0][i].copy(), rings[1][i].copy()
        rings[0][i] = 0
        rings[1][i] = 0
        first = math.floor(s - line)
        (a0c, a1c), (a0b, a1b) = ((a[first % r], a[(first + 1) % r]) for a in self.arrivals)
        f = (s - line) - first
        return Pair(x, (1 - f) * a0c + f * a1c, y, (1 - f) * a0b + f * a1b)


def run(sc: Scenario, seed: int) -> Result:
    rng = np.random.default_rng(seed)
    config = replace(JudgeConfig(), late_scale_seconds=PROFILES[sc.profile])
    judge = Judge(config, 0, 1, batch=(sc.runs,))
    traffic = Traffic(sc, rng)
    at = np.full(sc.runs, np.nan)
    for s in range(1, sc.duration_s + 1):
        judge.step_counts(traffic.second(s))
        hit = judge.breached() & np.isnan(at)
        at[hit] = s
        if not sc.healthy and not np.isnan(at).any():
            break
    breached = ~np.isnan(at)
    decided = breached | judge.certified()
    seconds = np.maximum(at - sc.onset_s, 0.0) + DECISION_DELAY_S
    return Result(sc, breached, seconds, float(1 - decided.mean()))


class RequestTraffic:
    """Individual requests with arrival and completion instants, through the real Aggregator."""

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate, self.rng = rate, rng
        self.agg = Aggregator()
        self.flying: list[tuple[float, Flight, str]] = []

    def second(self, s: int, canary_scale: float) -> dict[str, TargetSecond]:
        rng = self.rng
        sides = (("canary", self.rate, canary_scale),
                 ("baseline", self.rate * BASELINE_PER_CANARY, 1.0))  # fmt: skip
        for series, rate, scale in sides:
            for at in np.sort(s + rng.random(rng.poisson(rate))):
                latency = MEDIAN_S * scale * float(np.exp(SIGMA * rng.standard_normal()))
                self.flying.append((float(at) + latency, self.agg.depart((series,), at), series))
        self.flying.sort(key=lambda f: f[0])
        while self.flying and self.flying[0][0] < s + 1:
            ends, flight, series = self.flying.pop(0)
            self.agg.land(flight, ends)
            status = 500 if rng.random() < 0.01 else 200
            self.agg.record(series, status, (ends - flight.started_at) * 1e3, ends)
        return {row.target: row for row in self.agg.drain(s + 1.0)}


def row_level(runs: int, seed: int, onset_s: int = 120, limit_s: int = 300) -> Result:
    """P95 1 s -> 25 s at 5 req/s, request by request: Aggregator rows into Judge.step."""
    sc = Scenario("P95 1 s -> 25 s, request level", 5.0, 0.01, latency_scale=25.0,
                  onset_s=onset_s, duration_s=limit_s, runs=runs)  # fmt: skip
    at = np.full(runs, np.nan)
    for lane in range(runs):
        rng = np.random.default_rng(seed + lane)
        traffic, judge = RequestTraffic(sc.rate, rng), Judge(JudgeConfig(), 0, 1)
        for s in range(1, limit_s + 1):
            judge.step(s, traffic.second(s, sc.latency_scale if s >= onset_s else 1.0))
            if judge.verdict().verdict == "breach":
                at[lane] = s
                break
    seconds = np.maximum(at - onset_s, 0.0) + DECISION_DELAY_S
    return Result(sc, ~np.isnan(at), seconds, float(np.isnan(at).mean()))


def scenarios(scale: float = 1.0) -> list[Scenario]:
    """Every scenario of issue 10; `scale` shrinks runs and soak lengths (tests)."""

    def n(runs: int) -> int:
        return max(20, int(runs * scale))

    def d(seconds: int) -> int:
        return max(60, int(seconds * scale))

    out: list[Scenario] = []
    for profile, soak in (("default", 24 * HOUR), ("demo", 150)):
        for rate in (0.05, 0.5, 5.0, 50.0):
            for level in (0.01, 0.02):
                out.append(Scenario(f"healthy {level:.0%} = baseline", rate, level, level,
                                    duration_s=d(soak), runs=n(2000),
                                    profile=profile, healthy=True))  # fmt: skip
    faults = [
        ("30% vs 1%", 5.0, 0.30, 1.0, "t_30pct_at_5rps_s"),
        ("10% vs 1%", 5.0, 0.10, 1.0, None),
        ("5% vs 1%", 5.0, 0.05, 1.0, "t_5pct_at_5rps_s"),
        ("2x baseline (2% vs 1%)", 5.0, 0.02, 1.0, "t_2x_at_5rps_s"),
        ("2x baseline (2% vs 1%)", 50.0, 0.02, 1.0, "t_2x_at_50rps_s"),
        ("5% vs 1%", 0.5, 0.05, 1.0, None),
        ("P95 1 s -> 25 s", 5.0, 0.01, 25.0, "t_p95_25s_at_5rps_s"),
        ("P95 x1.2", 5.0, 0.01, 1.2, "t_p95x1.2_at_5rps_s"),
    ]
    for name, rate, error, latency, key in faults:
        out.append(Scenario(name, rate, error, latency_scale=latency, duration_s=d(2 * HOUR),
                            runs=n(200), key=key))  # fmt: skip
        late_key = key.replace("t_", "t_late_", 1) if key else None
        out.append(Scenario(name, rate, error, latency_scale=latency, onset_s=int(1.5 * HOUR),
                            duration_s=d(int(1.5 * HOUR)) + d(HOUR), runs=n(100),
                            key=late_key))  # fmt: skip
        out.append(Scenario(name, rate, error, latency_scale=latency, duration_s=d(HOUR),
                            runs=n(200), profile="demo"))  # fmt: skip
    return out


def fmt_time(seconds: float) -> str:
    if math.isnan(seconds):
        return "never"
    if math.isinf(seconds):
        return "> run"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def table(results: Sequence[Result]) -> list[str]:
    lines = [
        "| scenario | profile | canary req/s | runs x length | false rollbacks / 1,000 [95 %]"
        " | time to rollback median / p90 | never judged |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sc = r.scenario
        length = f"{sc.duration_s / HOUR:g} h" if sc.duration_s >= HOUR else f"{sc.duration_s} s"
        if sc.healthy:
            rate, low, high = r.false_per_1000()
            false = f"{rate:.2g} [{low:.2g}, {high:.2g}]"
            times = "-"
        else:
            false = "-"
            median, p90 = r.times()
            times = f"{fmt_time(median)} / {fmt_time(p90)}"
        lines.append(
            f"| {sc.label} | {sc.profile} | {sc.rate:g} | {sc.runs} x {length} | {false} | "
            f"{times} | {r.never_judged:.0%} |"
        )
    return lines


def summary(results: Sequence[Result]) -> str:
    worst = max(r.false_per_1000()[0] for r in results if r.scenario.healthy)
    worst_high = max(r.false_per_1000()[2] for r in results if r.scenario.healthy)
    parts = [f"false_rollbacks_per_1000_max={worst:.3g}",
             f"false_rollbacks_per_1000_upper95_max={worst_high:.3g}"]  # fmt: skip
    for r in results:
        if r.scenario.key:
            median = r.times()[0]
            parts.append(f"{r.scenario.key}={'never' if math.isnan(median) else f'{median:.0f}'}")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.decisions", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink runs and lengths")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--only", default="", help="run scenarios whose label contains this")
    parser.add_argument("--workers", type=int, default=2, help="processes (one per core)")
    args = parser.parse_args(argv)
    chosen = [(sc, args.seed + i) for i, sc in enumerate(scenarios(args.scale))
              if not args.only or args.only in sc.label]  # fmt: skip
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        results = pool.starmap(run, chosen, chunksize=1)
    if not args.only:
        results.append(row_level(max(10, int(40 * args.scale)), args.seed))
    took = time.perf_counter() - started
    print(f"# {len(results)} scenarios in {took:.0f} s on {args.workers} workers", file=sys.stderr)
    print("\n".join(table(results)))
    print(summary(results))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
