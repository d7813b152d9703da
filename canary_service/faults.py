"""Fault injection for rollback demos: a pure decision plus `FaultState`, the live config.

Exact rates: errors are spread by integer error diffusion, not by coin flips. Request *i* (0-based,
counted since the last config change) fails iff `floor(((i+1)·ppm + offset) / 10⁶)` exceeds
`floor((i·ppm + offset) / 10⁶)`, where `ppm` is the rate in parts per million and `offset` a seeded
draw in [0, 10⁶). Over N requests the count is `floor((N·ppm + offset) / 10⁶)`: exactly N·r when
N·r is whole, never off by more than one otherwise, and the same for the same seed. A random coin
per request would make "5% errors" a 3%-7% lottery and rollback demos flaky.

The seeded `random.Random` also picks 500 vs 503 and the jitter, so a whole run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

PPM = 1_000_000
ERROR_STATUSES = (500, 503)
INVALID_STATUS = 400


class FaultConfig(BaseModel):
    """The knobs; also the `/admin/faults` body (unknown fields are a 422, not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(0, ge=0, le=600_000)
    jitter_ms: int = Field(0, ge=0, le=600_000)
    invalid_response: bool = False

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.latency_ms or self.jitter_ms or self.invalid_response)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: wait `delay_ms`, then answer `status` (None: serve normally)."""

    delay_ms: float = 0.0
    status: int | None = None
    kind: str | None = None


NO_FAULT = FaultDecision()


def is_error(index: int, rate: float, offset: int) -> bool:
    """Error diffusion: does request `index` carry the next whole error? Integer math, exact."""
    ppm = round(rate * PPM)
    return (index + 1) * ppm + offset >= PPM * ((index * ppm + offset) // PPM + 1)


def decide(config: FaultConfig, index: int, offset: int, rng: random.Random) -> FaultDecision:
    """The fault for request `index`: latency always, then invalid (4xx) or error (5xx)."""
    if not config.active:
        return NO_FAULT
    delay = config.latency_ms + (rng.uniform(0, config.jitter_ms) if config.jitter_ms else 0.0)
    if config.invalid_response:
        return FaultDecision(delay, INVALID_STATUS, "invalid_response")
    if config.error_rate and is_error(index, config.error_rate, offset):
        return FaultDecision(delay, rng.choice(ERROR_STATUSES), "error")
    return FaultDecision(delay)


class FaultState:
    """The live fault config shared by the middleware and `/admin/faults`.

    Replacing the config restarts the request count and redraws the offset, so "the next N
    requests" after a change carry exactly N·r errors. One event loop owns it: no lock needed.
    """

    def __init__(self, config: FaultConfig, rng: random.Random) -> None:
        self._rng = rng
        self.config = config
        self.index = 0
        self.offset = rng.randrange(PPM)

    def replace(self, config: FaultConfig, *, seed: int | None = None) -> FaultConfig:
        previous = self.config
        if seed is not None:
            self._rng.seed(seed)
        self.config = config
        self.index = 0
        self.offset = self._rng.randrange(PPM)
        return previous

    def next_decision(self) -> FaultDecision:
        decision = decide(self.config, self.index, self.offset, self._rng)
        if self.config.active:
            self.index += 1
        return decision


def applies_to(path: str) -> bool:
    """Business endpoints only; `/`, `/health`, `/metrics`, `/admin/*` are never faulted."""
    return path in ("/chat", "/chat/stream") or path.startswith("/api/")
