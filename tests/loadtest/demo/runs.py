"""Shared demo bookkeeping for the demo's tests: outcomes, a tiny run, a breach verdict."""

from __future__ import annotations

from loadtest.demo.ledger import CANARY, LEGACY, Ledger, Outcome


def outcome(user, side, at, status=200):
    return Outcome(user, side, status, at, at + 0.01)


BREACH = {
    "metric": "error_rate",
    "kind": "vs_baseline",
    "verdict": "breach",
    "statistic": 25000.0,
    "threshold": 16000.0,
    "canary_events": 10,
    "canary_requests": 80,
    "baseline_events": 1,
    "baseline_requests": 90,
    "seen": 80,
    "needed": 40,
    "ratio": 11.3,
    "ratio_low": 2.0,
    "ratio_high": None,
}
AUTO = {
    "at": 20.0,
    "verb": "auto_rollback",
    "actor": "controller",
    "reason": "breach: error_rate 11.3x baseline [2, inf] (E=2.5e+04 vs 1.6e+04; ...)",
    "details": {"verdict": {"verdict": "breach", "metrics": [{"verdict": "healthy"}, BREACH]}},
}


def run_ledger(after_rollback_side=LEGACY, flip=False) -> Ledger:
    """A tiny run: one canary user, rolled back at t=20, requests until t=30."""
    ledger = Ledger(["c", "l"])
    ledger.begin_stage("5%", 5)
    ledger.record(outcome("c", CANARY, 5.0))
    ledger.record(outcome("l", LEGACY, 6.0))
    if flip:
        ledger.record(outcome("c", LEGACY, 7.0))
        ledger.record(outcome("c", CANARY, 8.0))
    ledger.record(outcome("c", CANARY, 15.0, status=500))
    ledger.record(outcome("c", after_rollback_side, 25.0))
    ledger.record(outcome("l", LEGACY, 26.0))
    return ledger
