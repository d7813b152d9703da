"""The e-process arithmetic of the judge (pure; the same code runs on scalars and numpy arrays).

One test = one null hypothesis about per-second counts, a discrete mixture over alternatives,
and an *e-detector*: the sum of a mixture e-process started when the stage began (weight
`w0`) and Shiryaev-Roberts-style copies started at every later second `t` (weight `v_t`).
Under the null every per-second likelihood-ratio factor has conditional expectation <= 1, so
`E_t + (weight of starts still to come)` is a nonnegative supermartingale that starts at 1, and
Ville's inequality gives P(E ever >= 1/alpha) <= alpha, for a stage of any length. The late
starts make a fault that begins hours into a stage cost `log(1/v_t)` extra nats instead of the
hours of downward drift an e-process started at the stage start would have to climb back.

Factors (x canary events, t all events, n/m canary/baseline exposure, pi = n/(n+m)):
- share (canary vs baseline, H0: canary rate <= baseline rate): given an event, it is the
  canary's with probability <= pi. Alternative "rate ratio rho": `rho**x / (1+(rho-1)pi)**t`.
  With binomial rather than Poisson sampling the conditional law is (Fisher's noncentral)
  hypergeometric, less spread than the binomial (Hoeffding 1963) and stochastically smaller
  for rho < 1, so the factor, convex and increasing in x, still has expectation <= 1.
- certify (H0: ratio >= tolerance, for "healthy"): the same factor relative to the tolerance,
  alternatives below it; decreasing in x, so a canary worse than the tolerance cannot pass.
- rate (absolute guard, H0: canary rate <= line p0): Poisson-form factor `k**x exp(-n p0 (k-1))`
  for alternatives p = k p0; with binomial counts E[k**x] = (1+p(k-1))**n <= exp(n p (k-1)).
  With k < 1 the same factor tests H0: rate >= p0 (certifying a rate below a negligible line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Num = Any  # a float or a numpy array of floats: every function here takes either
MAX_LOG = 700.0  # exp(700) ~ 1e304: far past any crossing level, still a finite float


@dataclass(frozen=True, slots=True)
class Mixture:
    """Alternatives (rate ratios, or multiples of a line) and their prior weights (sum 1)."""

    ratios: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ratios) != len(self.weights) or not self.ratios:
            raise ValueError("a mixture needs one weight per alternative")
        if abs(sum(self.weights) - 1.0) > 1e-9 or min(self.weights) <= 0:
            raise ValueError("mixture weights must be positive and sum to 1")

    @property
    def log_ratios(self) -> NDArray[np.float64]:
        logs: NDArray[np.float64] = np.log(np.asarray(self.ratios, dtype=float))
        return logs


#: Breach alternatives, as quarter-octave steps above the null (2**(k/4): 1.19x .. 32x): most
#: weight on the ratios worth acting on quickly (1.4x .. 5x); big effects need little weight
#: because their evidence piles up within seconds anyway.
BREACH_STEPS = (1, 2, 4, 6, 9, 13, 20)
BREACH_MIXTURE = Mixture(
    tuple(2.0 ** (k / 4) for k in BREACH_STEPS), (0.03, 0.12, 0.25, 0.2, 0.27, 0.09, 0.04)
)
#: Guard alternatives: multiples of the absolute line (error rate 5 % -> 6 %, 7.5 %, ...).
GUARD_MIXTURE = Mixture((1.2, 1.5, 2.0, 3.0, 6.0), (0.2, 0.3, 0.25, 0.15, 0.1))
#: Healthy alternatives, as fractions of the tolerance (ratio 1.5 -> 1.2, 0.9, 0.6, 0.3).
CERTIFY_MIXTURE = Mixture((0.8, 0.6, 0.4, 0.2), (0.3, 0.35, 0.25, 0.1))


def restart_weight(second: int, scale_seconds: float) -> float:
    """Weight of the copy started `second` seconds into the stage (second >= 1).

    `scale/((scale+s-1)(scale+s))` telescopes: the weights of all seconds sum to exactly 1, so
    the late starts never spend more than their share, however long the stage runs. Flat
    (~1/scale per second) for stages shorter than `scale`, then decaying like 1/s**2.
    """
    a = scale_seconds + second - 1
    return scale_seconds / (a * (a + 1.0))


def restart_weight_sum(first: int, last: int, scale_seconds: float) -> float:
    """Sum of `restart_weight(s)` for first <= s <= last (closed form of the telescope)."""
    if last < first:
        return 0.0
    return scale_seconds / (scale_seconds + first - 1) - scale_seconds / (scale_seconds + last)


def share_log_lr(x: Num, t: Num, pi: Num, log_rho: NDArray[np.float64]) -> Num:
    """log factor of every alternative; shapes broadcast as (..., 1) against (G,)."""
    x, t, pi = _col(x), _col(t), _col(pi)
    return x * log_rho - t * np.log1p((np.exp(log_rho) - 1.0) * pi)


def certify_log_lr(x: Num, t: Num, pi: Num, log_rho: NDArray[np.float64], tolerance: float) -> Num:
    """Factor for H0 "ratio >= tolerance" vs the alternatives `exp(log_rho) * tolerance`."""
    x, t, pi = _col(x), _col(t), _col(pi)
    rho = np.exp(log_rho) * tolerance
    return x * log_rho - t * (np.log1p((rho - 1.0) * pi) - np.log1p((tolerance - 1.0) * pi))


Alternatives = tuple[NDArray[np.float64], NDArray[np.float64]]


def rate_alternatives(line: float, log_k: NDArray[np.float64]) -> Alternatives:
    """(log k, line * (k - 1)) of the alternatives `k * line`, k capped so k * line < 1."""
    k = np.minimum(np.exp(log_k), 0.999 / line)
    return np.log(k), line * (k - 1.0)


def rate_log_lr(x: Num, n: Num, alternatives: Alternatives) -> Num:
    """Poisson-form factor for H0 "rate <= line" vs each alternative (`rate_alternatives`)."""
    log_k, drift = alternatives
    return _col(x) * log_k - _col(n) * drift


def _col(value: Num) -> Num:
    """Scalars stay scalars; arrays of per-soak values become columns against the mixture."""
    return value[..., None] if isinstance(value, np.ndarray) else value


class EDetector:
    """Stage-start mixture e-process plus late starts, in linear scale (clamped, never inf).

    `update(log_lr, v)` applies one second: every copy is multiplied by its factor, after the
    copy for this second (weight `v`) has been added. Shape `batch` lets the benchmark run
    thousands of soaks at once through this very code; the controller uses `batch=()`.
    """

    def __init__(self, mixture: Mixture, w0: float, batch: tuple[int, ...] = ()) -> None:
        shape = (*batch, len(mixture.ratios))
        self.mixture = mixture
        self.w0 = w0
        self._u = np.asarray(mixture.weights, dtype=float)
        self.start = np.ones(shape)  # the e-process started with the stage, per alternative
        self.late = np.zeros(shape)  # sum over later starts of v_j * product since j

    def update(self, log_lr: Num, v: float) -> None:
        factor = np.exp(np.minimum(log_lr, MAX_LOG))
        with np.errstate(over="ignore"):  # past 1e300 it is crossed anyway: clamp, never inf
            self.start = np.minimum(self.start * factor, 1e300)
            self.late = np.minimum((self.late + v) * factor, 1e300)

    def value(self) -> Num:
        """E_t: the mixture over alternatives of w0 * start + late."""
        total = (self.w0 * self.start + self.late) @ self._u
        return float(total) if np.ndim(total) == 0 else total

    def late_value(self) -> Num:
        total = self.late @ self._u
        return float(total) if np.ndim(total) == 0 else total

    def state(self) -> dict[str, list[float]]:
        return {"start": self.start.tolist(), "late": self.late.tolist()}
