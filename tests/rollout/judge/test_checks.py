"""rollout/judge/checks.py: breach, healthy and the interval of one check."""

from __future__ import annotations

import numpy as np

from rollout.judge.checks import Budget, GuardCheck, ShareCheck

BUDGET = Budget(alpha=1e-4, w0=0.8, healthy_alpha=0.01)


def feed(check: ShareCheck, seconds: int, canary_rate: float, baseline_rate: float, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(seconds):
        n, m = rng.poisson(20), rng.poisson(200)
        check.update(rng.binomial(n, canary_rate), n, rng.binomial(m, baseline_rate), m, 0.0)


def test_a_much_worse_canary_breaches_and_its_interval_excludes_one():
    check = ShareCheck(BUDGET, 1.5)
    feed(check, 120, 0.10, 0.02)
    assert check.breached() and not check.healthy()
    low, high = check.interval()
    assert 1.0 < low <= 5.0 and high is not None and high >= 5.0
    assert 3.5 < check.ratio() < 7.0


def test_an_equal_canary_is_certified_healthy_and_never_breaches():
    check = ShareCheck(BUDGET, 1.5)
    feed(check, 3000, 0.02, 0.02)
    assert check.healthy() and not check.breached()
    low, high = check.interval()
    assert low < 1.0 < high < 1.5


def test_no_events_at_all_is_healthy_through_the_negligible_rate():
    check = ShareCheck(BUDGET, 1.5, negligible_rate=0.001)
    for _ in range(100):
        check.update(0, 100, 0, 1000, 0.0)
    assert check.healthy() and check.ratio() is None


def test_a_canary_event_without_canary_exposure_is_not_evidence():
    check = ShareCheck(BUDGET, 1.5)
    for _ in range(50):
        check.update(5, 0, 0, 100, 0.0)
    assert check.breach.value() <= 1.0 and check.canary_events == 0


def test_guard_breaches_over_its_line_only():
    over, under = GuardCheck(BUDGET, 0.05), GuardCheck(BUDGET, 0.05)
    for _ in range(60):
        over.update(3, 20, 0.0)  # 15 %
        under.update(0, 20, 0.0)
    assert over.breached() and not under.breached()
    assert over.rate() == 0.15
