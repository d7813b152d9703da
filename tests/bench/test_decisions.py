"""bench/decisions.py, small and seeded: the judge's decisions keep their numbers."""

from __future__ import annotations

import numpy as np
import pytest

from bench.decisions import (
    Scenario,
    clopper_pearson,
    run,
    scenarios,
    slow_share,
    summary,
    table,
)


def test_clopper_pearson_matches_the_known_values():
    low, high = clopper_pearson(0, 1000)
    assert low == 0 and high == pytest.approx(0.003682, rel=1e-3)
    low, high = clopper_pearson(5, 100)
    assert (low, high) == (pytest.approx(0.01643, rel=1e-3), pytest.approx(0.11284, rel=1e-3))


def test_latency_model_has_the_baseline_p95_at_the_line():
    assert slow_share(1.0, 1.0) == pytest.approx(0.05, rel=1e-3)
    assert slow_share(25.0, 1.02) > 0.99 and 0.08 < slow_share(1.2, 1.02) < 0.11


def test_healthy_soaks_are_not_rolled_back_and_faults_are_caught_in_time():
    healthy = run(Scenario("healthy", 5.0, 0.01, 0.01, duration_s=600, runs=300,
                           healthy=True), seed=1)  # fmt: skip
    assert not healthy.breached.any()
    fast = run(Scenario("30% vs 1%", 5.0, 0.30, runs=100, duration_s=600), seed=2)
    assert fast.breached.all() and fast.times()[0] <= 10
    slow_latency = run(Scenario("P95 25 s", 5.0, 0.01, latency_scale=25.0, runs=100,
                                duration_s=600), seed=3)  # fmt: skip
    assert slow_latency.times()[0] <= 30


def test_same_seed_same_numbers_and_a_table_with_the_summary_keys():
    sc = Scenario("5% vs 1%", 5.0, 0.05, runs=60, duration_s=900, key="t_5pct_at_5rps_s")
    first, second = run(sc, seed=7), run(sc, seed=7)
    assert np.array_equal(first.seconds, second.seconds, equal_nan=True)
    healthy = run(Scenario("healthy", 0.5, 0.01, 0.01, duration_s=120, runs=40, healthy=True), 8)
    lines = table([first, healthy])
    assert lines[0].startswith("| scenario |") and len(lines) == 4
    last = summary([first, healthy])
    assert last.startswith("false_rollbacks_per_1000_max=0 ") and "t_5pct_at_5rps_s=" in last


def test_every_scenario_of_the_issue_is_in_the_full_run():
    labels = {(s.label, s.profile, s.rate) for s in scenarios()}
    for rate in (0.05, 0.5, 5.0, 50.0):
        for profile in ("default", "demo"):
            assert ("healthy 1% = baseline", profile, rate) in labels
    keys = {s.key for s in scenarios()}
    assert {"t_5pct_at_5rps_s", "t_2x_at_5rps_s", "t_2x_at_50rps_s", "t_p95x1.2_at_5rps_s",
            "t_30pct_at_5rps_s", "t_late_5pct_at_5rps_s"} <= keys  # fmt: skip


def test_request_level_run_through_the_aggregator_agrees_with_the_count_model():
    from bench.decisions import row_level

    requests = row_level(3, seed=4)
    counts = run(Scenario("P95 25 s", 5.0, 0.01, latency_scale=25.0, runs=60, duration_s=300),
                 seed=5)  # fmt: skip
    assert requests.breached.all()
    assert abs(requests.times()[0] - counts.times()[0]) <= 5
