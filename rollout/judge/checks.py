"""The judge's checks: one comparative check (canary vs baseline) or absolute guard per metric.

A check is fed one settled second at a time with counts (events and exposure of both series)
and keeps everything incrementally: its e-detectors, the cumulative counts, and (for the
evidence) the log-likelihood of a grid of rate ratios, from which the anytime-valid interval
of the ratio is read. Counts may be numpy arrays (one value per simulated soak); the
controller passes plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rollout.judge.sequential import (
    BREACH_MIXTURE,
    BREACH_STEPS,
    CERTIFY_MIXTURE,
    GUARD_MIXTURE,
    EDetector,
    Num,
    certify_log_lr,
    rate_alternatives,
    rate_log_lr,
    share_log_lr,
)

#: Ratios at which the interval is evaluated: quarter-octave steps from 1/16 to 64.
INTERVAL_GRID = tuple(2.0 ** (j / 4) for j in range(-16, 25))


@dataclass(frozen=True, slots=True)
class Budget:
    """A check's share of ROLLOUT_ALPHA and how it is spent (see rollout.judge.budget)."""

    alpha: float
    w0: float
    healthy_alpha: float

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha


class ShareCheck:
    """Canary vs baseline on the canary's share of events (error, non-success, slow)."""

    def __init__(
        self,
        budget: Budget,
        tolerance: float,
        batch: tuple[int, ...] = (),
        *,
        negligible_rate: float = 0.001,
        track_interval: bool = True,
    ) -> None:
        self.budget = budget
        self.tolerance = tolerance
        self.negligible_rate = negligible_rate
        self.breach = EDetector(BREACH_MIXTURE, budget.w0, batch)
        self.certify = EDetector(CERTIFY_MIXTURE, 1.0, batch)
        self.negligible = EDetector(CERTIFY_MIXTURE, 1.0, batch)
        self._below = rate_alternatives(negligible_rate, CERTIFY_MIXTURE.log_ratios)
        self._log_rho = BREACH_MIXTURE.log_ratios
        self._log_cert = CERTIFY_MIXTURE.log_ratios
        self._grid = np.log(np.asarray(INTERVAL_GRID)) if track_interval else None
        self.canary_events: Num = np.zeros(batch) if batch else 0.0
        self.baseline_events: Num = np.zeros(batch) if batch else 0.0
        self.canary_exposure: Num = np.zeros(batch) if batch else 0.0
        self.baseline_exposure: Num = np.zeros(batch) if batch else 0.0
        self._loglik = np.zeros(len(INTERVAL_GRID)) if track_interval else None

    def update(self, x: Num, n: Num, y: Num, m: Num, v: float) -> None:
        """One second: x of n canary, y of m baseline (exposure may be fractional).

        Events without exposure (a crossing of a request that arrived before the stage, a
        late process) cannot be weighed: a canary event with no canary exposure would count as
        unbounded evidence, so it is dropped.
        """
        x = np.where(n > 0, x, 0.0) if isinstance(x, np.ndarray) else (x if n > 0 else 0.0)
        t = x + y
        total = n + m
        pi: Num = np.where(total > 0, n / np.where(total > 0, total, 1.0), 0.0)
        if not isinstance(x, np.ndarray):
            pi = float(pi)
        self.breach.update(share_log_lr(x, t, pi, self._log_rho), v)
        self.certify.update(certify_log_lr(x, t, pi, self._log_cert, self.tolerance), 0.0)
        self.negligible.update(rate_log_lr(x, n, self._below), 0.0)
        self.canary_events = self.canary_events + x
        self.baseline_events = self.baseline_events + y
        self.canary_exposure = self.canary_exposure + n
        self.baseline_exposure = self.baseline_exposure + m
        if self._loglik is not None and self._grid is not None:
            self._loglik += share_log_lr(float(x), float(t), float(pi), self._grid)

    def breached(self) -> Num:
        return self.breach.value() >= self.budget.threshold

    def healthy(self) -> Num:
        """Certified not worse than tolerance x baseline, or certified below the negligible
        rate (a canary and a baseline with no errors at all have no ratio to certify)."""
        level = 2.0 / self.budget.healthy_alpha  # two ways to pass: half the budget each
        return (self.certify.value() >= level) | (self.negligible.value() >= level)

    def ratio(self) -> float | None:
        """Point estimate (canary rate / baseline rate), None without events on both sides."""
        x, y = float(self.canary_events), float(self.baseline_events)
        n, m = float(self.canary_exposure), float(self.baseline_exposure)
        if n <= 0 or m <= 0 or y <= 0:
            return None
        return (x / n) / (y / m)

    def interval(self) -> tuple[float, float | None]:
        """Anytime-valid interval of the ratio over the stage, at this check's level.

        Lower end: the largest grid ratio r such that "ratio <= r" is rejected by the breach
        mixture moved to r (so at r = 1 it is the stage-start e-process of the breach test);
        upper end: the smallest r such that "ratio >= r" is rejected by its mirror image.
        """
        if self._loglik is None:
            return 0.0, None
        level = math.log(self.budget.threshold)
        ll = self._loglik
        grid = INTERVAL_GRID
        low = max(
            (r for i, r in enumerate(grid) if _side_evidence(ll, i, above=True) >= level),
            default=0.0,
        )
        high = min(
            (r for i, r in enumerate(grid) if _side_evidence(ll, i, above=False) >= level),
            default=None,
        )
        return low, high


def _side_evidence(loglik: Any, i: int, *, above: bool) -> float:
    """log of the breach mixture's e-value against "ratio = grid[i]", from one side."""
    terms = []
    for step, weight in zip(BREACH_STEPS, BREACH_MIXTURE.weights, strict=True):
        j = i + step if above else i - step
        if 0 <= j < len(loglik):
            terms.append(math.log(weight) + loglik[j] - loglik[i])
    if not terms:
        return -math.inf
    peak = float(max(terms))
    return peak + math.log(sum(math.exp(t - peak) for t in terms))


class GuardCheck:
    """Absolute guard: is the rate (canary's, or the baseline's) above a fixed line?"""

    def __init__(self, budget: Budget, line: float, batch: tuple[int, ...] = ()) -> None:
        self.budget = budget
        self.line = line
        self.detector = EDetector(GUARD_MIXTURE, budget.w0, batch)
        self._above = rate_alternatives(line, GUARD_MIXTURE.log_ratios)
        self.events: Num = np.zeros(batch) if batch else 0.0
        self.exposure: Num = np.zeros(batch) if batch else 0.0

    def update(self, x: Num, n: Num, v: float) -> None:
        self.detector.update(rate_log_lr(x, n, self._above), v)
        self.events = self.events + x
        self.exposure = self.exposure + n

    def breached(self) -> Num:
        return self.detector.value() >= self.budget.threshold

    def rate(self) -> float | None:
        n = float(self.exposure)
        return float(self.events) / n if n > 0 else None
