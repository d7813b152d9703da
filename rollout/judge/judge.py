"""The judge of one stage: incremental over settled seconds, a pure function of the series.

`step(second, rows)` takes one settled second (rows of every series, merged over processes;
an empty mapping for a second without traffic) and updates every check in O(1); `verdict(at)`
reads the decision and its evidence. Feed it the same seconds and it reaches the same verdicts
bit for bit: that is what lets a new leader rebuild it from the store and `ion-rollout replay`
re-run a recorded rollout.

`fold(chunks)` takes rows that arrived after their seconds were judged (a process flushing
what it kept through a store outage): each late second's rows are one more observation of
every check, in the order they are folded, and start no late copy (weight 0, so the restart
weights still sum to 1). That is sound because each check's factor is an e-value given the
past whatever the grouping of requests into observations, as long as the grouping does not
depend on the outcomes: the canary's share of a chunk's errors, given its exposure on both
sides, is bounded by the same binomial whether the chunk is a whole second or the part of one
a process flushed late (docs/judge.md, "Late rows"). Which chunks come when is a fact of the
store (`RolloutStore.late_series`: the fold second is stamped when a row arrives), so a
rebuild and a replay fold them at the same place.

`step_counts` is the part below the rows: it takes the per-check counts, which may be numpy
arrays of one value per simulated soak (bench/decisions.py drives this very code).

Checks (rollout.judge.budget has the alpha split):
- error_rate, success_rate (as non-successes), slow_share: canary vs baseline share checks;
- guard_error_rate (> ROLLOUT_BREACH_ERROR_RATE), guard_success_rate (non-successes >
  1 - ROLLOUT_BREACH_SUCCESS_RATE), guard_p95 (more than 5 % of requests past
  ROLLOUT_BREACH_P95_MS, i.e. P95 over the line): absolute, on the canary, with a baseline twin.

The slow line is ROLLOUT_SLOW_MS when set, else the baseline's P95 over the stage so far
(from the seconds before the one judged, once it has 20 completions; until then the slow
check waits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gateway.aggregate import GAMMA, LatencyHistogram, TargetSecond
from rollout.judge import counts
from rollout.judge.budget import COMPARATIVE, START_SHARE, check_budget
from rollout.judge.checks import GuardCheck, ShareCheck
from rollout.judge.counts import BASELINE, CANARY, Pair
from rollout.judge.evidence import CheckEvidence, CheckKind, Verdict, VerdictKind
from rollout.judge.sequential import BREACH_MIXTURE, restart_weight

SLOW_SHARE_LINE = 0.05  # "P95 over the line" = more than 5 % of requests over it
MIN_LINE_SAMPLES = 20
MAX_LINE_MS = 120_000.0  # arrivals are remembered this long; longer lines are capped
ARRIVAL_SECONDS = int(MAX_LINE_MS / 1e3) + 4
GUARDS = ("guard_error_rate", "guard_success_rate", "guard_p95")


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    alpha: float = 0.001
    healthy_alpha: float = 0.01
    tolerance: float = 1.5
    min_effect: float = 2.0
    slow_ms: float | None = None
    slow_floor_ms: float = 50.0
    error_line: float = 0.05
    non_success_line: float = 0.10
    p95_line_ms: float = 20_000.0
    late_scale_seconds: float = 6 * 3600.0
    judged_stages: int = 4
    negligible_rate: float = 0.001

    @classmethod
    def from_settings(cls, s: Any) -> JudgeConfig:
        return cls(
            alpha=s.alpha,
            healthy_alpha=s.healthy_alpha,
            tolerance=s.tolerance,
            min_effect=s.min_effect,
            slow_ms=s.slow_ms,
            slow_floor_ms=s.slow_floor_ms,
            error_line=s.breach_error_rate,
            non_success_line=1.0 - s.breach_success_rate,
            p95_line_ms=s.breach_p95_ms,
            late_scale_seconds=s.late_onset_scale_seconds,
            judged_stages=max(1, len(s.stages) - 1),
            negligible_rate=s.negligible_rate,
        )


@dataclass(frozen=True, slots=True)
class SecondCounts:
    """Everything the checks need from one second; `slow` None while there is no line."""

    errors: Pair
    non_successes: Pair
    slow: Pair | None
    slow_guard: Pair


class Judge:
    def __init__(
        self,
        config: JudgeConfig,
        stage_index: int,
        first_second: int,
        batch: tuple[int, ...] = (),
    ) -> None:
        self.config = config
        self.stage_index = stage_index
        self.first_second = first_second
        self.last_second = first_second - 1
        self.batch = batch
        scalar = not batch

        def budget(name: str) -> Any:
            return check_budget(
                name, stage_index, config.judged_stages, config.alpha, config.healthy_alpha
            )

        self.shares = {
            name: ShareCheck(
                budget(name),
                config.tolerance,
                batch,
                negligible_rate=config.negligible_rate,
                track_interval=scalar,
            )
            for name in COMPARATIVE
        }
        lines = {
            "guard_error_rate": config.error_line,
            "guard_success_rate": config.non_success_line,
            "guard_p95": SLOW_SHARE_LINE,
        }
        self.guards = {
            name: (GuardCheck(budget(name), line, batch), GuardCheck(budget(name), line, batch))
            for name, line in lines.items()
        }
        self.slow_line_ms: float | None = config.slow_ms
        self._baseline_latency = LatencyHistogram()
        self._before = {CANARY: LatencyHistogram(), BASELINE: LatencyHistogram()}
        self._arrivals: dict[int, list[int]] = {}  # second -> [canary, baseline] arrivals
        self._owed: dict[tuple[str, str], int] = {}  # (line, series) -> crossings owed (<= 0)

    # feeding --------------------------------------------------------------------------------

    def step(self, second: int, rows: Mapping[str, TargetSecond]) -> None:
        """One settled second (seconds must come in order, none skipped)."""
        if second != self.last_second + 1:
            raise ValueError(f"judge expects second {self.last_second + 1}, got {second}")
        canary, baseline = counts.split(rows, second)
        self._arrive(second, canary, baseline)
        self.step_counts(self._second_counts(canary, baseline, self._before))
        self._before = {CANARY: canary.inflight, BASELINE: baseline.inflight}
        self._baseline_latency.merge(baseline.latency)

    def fold(self, chunks: Sequence[tuple[int, Mapping[str, TargetSecond]]]) -> int:
        """Late rows of seconds already judged, one run of them in order of second (what one
        `late_series` fold second holds); each second's rows are one more observation. Rows of
        seconds before this stage are not its evidence and are skipped. Returns how many
        seconds were folded in."""
        folded = 0
        previous: tuple[int, dict[str, LatencyHistogram]] | None = None
        for second, rows in chunks:
            if not self.first_second <= second <= self.last_second:
                continue
            canary, baseline = counts.split(rows, second)
            self._arrive(second, canary, baseline)
            before = previous[1] if previous and previous[0] == second - 1 else _NOTHING
            self._apply(self._second_counts(canary, baseline, before), 0.0)
            previous = (second, {CANARY: canary.inflight, BASELINE: baseline.inflight})
            self._baseline_latency.merge(baseline.latency)
            folded += 1
        if previous is not None and previous[0] == self.last_second:
            # still in flight at the end of the last judged second: the next second's `before`
            self._before = {name: _merged(self._before[name], previous[1][name])
                            for name in (CANARY, BASELINE)}  # fmt: skip
        return folded

    def step_counts(self, c: SecondCounts) -> None:
        """Apply one second's counts to every check (numbers, or arrays of one per soak)."""
        self.last_second += 1
        k = self.last_second - self.first_second + 1
        self._apply(c, (1.0 - START_SHARE) * restart_weight(k, self.config.late_scale_seconds))

    def _apply(self, c: SecondCounts, v: float) -> None:
        """One observation; `v` is the weight of the late copy started with it (0 for a fold)."""
        self.shares["error_rate"].update(c.errors.x, c.errors.n, c.errors.y, c.errors.m, v)
        ns = c.non_successes
        self.shares["success_rate"].update(ns.x, ns.n, ns.y, ns.m, v)
        if c.slow is not None:
            self.shares["slow_share"].update(c.slow.x, c.slow.n, c.slow.y, c.slow.m, v)
        for name, pair in (("guard_error_rate", c.errors), ("guard_success_rate", ns),
                           ("guard_p95", c.slow_guard)):  # fmt: skip
            canary, baseline = self.guards[name]
            canary.update(pair.x, pair.n, v)
            if not self.batch:  # the twin only says whether a breach is shared (not simulated)
                baseline.update(pair.y, pair.m, v)

    def _second_counts(
        self,
        canary: TargetSecond,
        baseline: TargetSecond,
        before: Mapping[str, LatencyHistogram],
    ) -> SecondCounts:
        line = self._line()
        slow = None if line is None else self._crossings("slow", canary, baseline, before, line)
        guard = self._crossings("guard", canary, baseline, before, self.config.p95_line_ms)
        if guard.n == 0 and guard.x:  # crossings without exposure (arrived before the stage)
            guard = Pair(0, 0, guard.y, guard.m)
        if guard.m == 0 and guard.y:  # the same for the baseline twin
            guard = Pair(guard.x, guard.n, 0, 0)
        errors = counts.errors(canary, baseline)
        return SecondCounts(errors, counts.non_successes(canary, baseline), slow, guard)

    def _arrive(self, second: int, canary: TargetSecond, baseline: TargetSecond) -> None:
        """Arrivals of the last ARRIVAL_SECONDS seconds, for the exposure of crossings (a fold
        adds to its second's). Older seconds are forgotten: no line reaches back that far."""
        window_start = max(second, self.last_second + 1) - ARRIVAL_SECONDS + 1
        self._arrivals.pop(window_start - 1, None)
        if second >= window_start:
            arrived = self._arrivals.setdefault(second, [0, 0])
            arrived[0] += canary.started
            arrived[1] += baseline.started

    def _line(self) -> float | None:
        if self.slow_line_ms is not None and self.config.slow_ms is not None:
            return min(self.slow_line_ms, MAX_LINE_MS)
        if self._baseline_latency.total < MIN_LINE_SAMPLES:
            return None
        p95 = self._baseline_latency.quantile(0.95)
        if p95 is None:
            return None
        # The floor: a canary at 2 ms against a baseline at 1.5 ms is "slower" with certainty,
        # and no operator wants it rolled back for that.
        self.slow_line_ms = min(max(p95, self.config.slow_floor_ms), MAX_LINE_MS)
        return self.slow_line_ms

    def _crossings(
        self,
        line_name: str,
        canary: TargetSecond,
        baseline: TargetSecond,
        before: Mapping[str, LatencyHistogram],
        line_ms: float,
    ) -> Pair:
        edge_s = GAMMA ** LatencyHistogram.index_of(line_ms) / 1e3
        start = canary.second - edge_s  # crossings in [s, s+1) arrived in [start, start + 1)
        first = math.floor(start)
        if first < self.first_second:  # they arrived before the stage: not its evidence
            return Pair(0, 0, 0, 0)
        x = self._counted((line_name, CANARY), counts.crossings(canary, before[CANARY], line_ms))
        raw_y = counts.crossings(baseline, before[BASELINE], line_ms)
        y = self._counted((line_name, BASELINE), raw_y)
        a0 = self._arrivals.get(first, (0, 0))
        a1 = self._arrivals.get(first + 1, (0, 0))
        f = start - first  # the interval covers the last (1 - f) of `first`, the first f of next
        n = (1 - f) * a0[0] + f * a1[0]
        m = (1 - f) * a0[1] + f * a1[1]
        return Pair(x, n, y, m)

    def _counted(self, key: tuple[str, str], raw: int) -> int:
        """Crossings to count now: a negative count (requests gone missing in flight, see
        rollout.judge.counts) is owed and paid back by the next positive ones."""
        total = raw + self._owed.get(key, 0)
        self._owed[key] = min(total, 0)
        return max(total, 0)

    # reading --------------------------------------------------------------------------------

    def breached(self) -> Any:
        """Any check past its level (array per soak in batch mode)."""
        result = np.zeros(np.shape(self.shares["error_rate"].canary_events), dtype=bool)
        for check in self.shares.values():
            result = result | check.breached()
        for canary, _ in self.guards.values():
            result = result | canary.breached()
        return result

    def certified(self) -> Any:
        result = np.ones(np.shape(self.shares["error_rate"].canary_events), dtype=bool)
        for check in self.shares.values():
            result = result & check.healthy()
        return result

    def verdict(self, at: float | None = None) -> Verdict:
        evidence = [*(self._share_evidence(n) for n in COMPARATIVE),
                    *(self._guard_evidence(n) for n in GUARDS)]  # fmt: skip
        breaches = [e for e in evidence if e.verdict == VerdictKind.BREACH]
        second = self.last_second if self.last_second >= self.first_second else None
        if breaches:
            shared = all(e.shared for e in breaches)
            return Verdict(VerdictKind.BREACH, tuple(evidence), at, None, shared, second)
        if any(e.verdict == VerdictKind.WARN for e in evidence):
            return Verdict(VerdictKind.WARN, tuple(evidence), at, None, False, second)
        if all(e.verdict == VerdictKind.HEALTHY for e in evidence):
            return Verdict(VerdictKind.HEALTHY, tuple(evidence), at, None, False, second)
        detail = "; ".join(
            f"{e.metric} seen {e.seen} of ~{e.needed if e.needed is not None else '?'} needed"
            for e in evidence
            if e.kind == CheckKind.VS_BASELINE and e.verdict == VerdictKind.NOT_ENOUGH_DATA
        )
        return Verdict(
            VerdictKind.NOT_ENOUGH_DATA, tuple(evidence), at, detail or None, False, second
        )

    def _share_evidence(self, name: str) -> CheckEvidence:
        check = self.shares[name]
        statistic = _sig(float(check.breach.value()))
        threshold = check.budget.threshold
        if statistic >= threshold:
            verdict = VerdictKind.BREACH
        elif statistic >= math.sqrt(threshold):
            verdict = VerdictKind.WARN
        elif bool(check.healthy()):
            verdict = VerdictKind.HEALTHY
        else:
            verdict = VerdictKind.NOT_ENOUGH_DATA
        low, high = check.interval()
        n, m = float(check.canary_exposure), float(check.baseline_exposure)
        x, y = float(check.canary_events), float(check.baseline_events)
        return CheckEvidence(
            name, CheckKind.VS_BASELINE, verdict, statistic, threshold, x, n, y, m,
            int(n), self._needed(check), _r(check.ratio()), low, high,
            _rate(x, n), _rate(y, m), self.slow_line_ms if name == "slow_share" else None,
        )  # fmt: skip

    def _guard_evidence(self, name: str) -> CheckEvidence:
        canary, baseline = self.guards[name]
        statistic = _sig(float(canary.detector.value()))
        threshold = canary.budget.threshold
        base_stat = float(baseline.detector.value())
        shared = bool(baseline.breached())
        if statistic >= threshold:
            verdict = VerdictKind.BREACH
        elif statistic >= math.sqrt(threshold):
            verdict = VerdictKind.WARN
        else:
            verdict = VerdictKind.HEALTHY  # nothing says the canary is near the line
        x, n = float(canary.events), float(canary.exposure)
        y, m = float(baseline.events), float(baseline.exposure)
        return CheckEvidence(
            name, CheckKind.GUARD, verdict, statistic, threshold, x, n, y, m, int(n), None,
            None, None, None, _rate(x, n), _rate(y, m), canary.line, _r(base_stat),
            shared and verdict == VerdictKind.BREACH,
        )  # fmt: skip

    def _needed(self, check: ShareCheck) -> int | None:
        """Expected canary requests to detect the minimum effect at the current rates."""
        n, m = float(check.canary_exposure), float(check.baseline_exposure)
        if n <= 0 or m <= 0:
            return None
        p_b = (float(check.baseline_events) + 0.5) / (m + 1.0)
        rho = self.config.min_effect
        r = m / n  # baseline requests per canary request
        pi, q = 1.0 / (1.0 + r), rho / (rho + r)
        kl = q * math.log(q / pi) + (1 - q) * math.log((1 - q) / (1 - pi))
        events_per_request = p_b * (rho + r)
        pairs = zip(BREACH_MIXTURE.weights, BREACH_MIXTURE.ratios, strict=True)
        weight = max((w for w, ratio in pairs if ratio <= rho), default=0.05)
        nats = math.log(check.budget.threshold / (START_SHARE * weight))
        return math.ceil(nats / (kl * events_per_request))


_NOTHING: Mapping[str, LatencyHistogram] = {
    CANARY: LatencyHistogram(),
    BASELINE: LatencyHistogram(),
}


def _merged(a: LatencyHistogram, b: LatencyHistogram) -> LatencyHistogram:
    total = LatencyHistogram(dict(a.counts))
    total.merge(b)
    return total


def _rate(events: float, exposure: float) -> float | None:
    return _r(events / exposure) if exposure > 0 else None


def _r(value: float | None) -> float | None:
    return None if value is None else _sig(value)


def _sig(value: float) -> float:
    """Evidence is shown, stored and compared as text: 6 significant digits are plenty."""
    return float(f"{value:.6g}")
