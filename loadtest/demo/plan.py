"""The demo's schedule (pure): how long each act lasts, how much traffic, which stages.

Two shapes: the default one a person watches (about a minute end to end, 200 users at a modest
40 requests/s, which a 2-core machine carries next to three servers), and `--fast` for tests
(few users, one-second holds, three-second health windows) that finishes in well under 30 s.
When the demo starts its own stack it also chooses the rollout settings the stack runs with
(`stack_env`): the demo profile, no auto-advance (the demo advances, so the audience sees who
moves the dial), and in fast mode short flush and settle intervals so the controller reacts
within a second or two.

Evidence in time: the fault (50 % errors) comes at the last ramp stage, 50 %, where canary and
baseline each get about half of the 40 req/s. The judge's error check needs ~10 nats at that
stage's share of ROLLOUT_ALPHA; a canary error is worth up to ln 2 when the baseline has none,
and the guard (errors > 5 %) gains ~0.6 nats per canary request, so the rollback comes a few
seconds after the fault (plus the 1.5 s settle), far inside the 60 s rollback timeout. A
healthy ramp of 10 s holds collects far too little evidence for a false alarm (the judge's
budget holds whatever the length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rollout.machine import Status


@dataclass(frozen=True, slots=True)
class DemoPlan:
    users: int = 200
    rate_per_s: float = 40.0
    concurrency: int = 8
    baseline_s: float = 3.0
    stage_hold_s: float = 10.0
    fault_error_rate: float = 0.5
    rollback_timeout_s: float = 60.0
    verify_s: float = 5.0
    poll_s: float = 0.5
    request_timeout_s: float = 10.0

    def with_overrides(self, **overrides: Any) -> DemoPlan:
        """This plan with the command-line values that were given (None means not given)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


DEFAULT_PLAN = DemoPlan()
FAST_PLAN = DemoPlan(
    users=40,
    rate_per_s=60.0,
    concurrency=6,
    baseline_s=0.5,
    stage_hold_s=1.0,
    rollback_timeout_s=15.0,
    verify_s=1.5,
    poll_s=0.2,
    request_timeout_s=5.0,
)

#: Rollout settings for a stack the demo starts itself. Explicit, so a stray ROLLOUT_* in the
#: caller's shell (auto-advance, a shared store) cannot turn the show into something else.
DEMO_STACK_ENV = {
    "ROLLOUT_PROFILE": "demo",
    "ROLLOUT_AUTO_ADVANCE": "false",
    "ROLLOUT_BREACH_ACTION": "rollback",
}
FAST_STACK_ENV = {
    "ROLLOUT_SETTLE_SECONDS": "0.3",
    "ROLLOUT_FLUSH_INTERVAL_SECONDS": "0.2",
    "ROLLOUT_POLL_INTERVAL_SECONDS": "0.1",
}


def plan_for(fast: bool) -> DemoPlan:
    return FAST_PLAN if fast else DEFAULT_PLAN


def stack_env(fast: bool, store_url: str) -> dict[str, str]:
    """The ROLLOUT_* variables the demo's own stack runs with, on top of the caller's env."""
    env = {**DEMO_STACK_ENV, "ROLLOUT_STORE_URL": store_url}
    return {**env, **FAST_STACK_ENV} if fast else env


def ramp_stages(stages: Sequence[int]) -> list[int]:
    """The stages the demo walks through: every one before the last.

    Advancing into the last stage (100 %) completes the rollout, and a completed rollout is no
    longer judged, so the fault would have nothing to roll back. The demo stops one short.
    """
    return list(stages[:-1])


def stage_label(percent: int, note: str = "") -> str:
    return f"{percent}%{f' {note}' if note else ''}"


def startable(state: str) -> bool:
    """States from which `start` begins a new rollout (DESIGN.md / rollout.machine)."""
    return state in (Status.IDLE, Status.ROLLED_BACK, Status.COMPLETED)
