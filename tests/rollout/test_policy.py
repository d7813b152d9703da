"""rollout/policy.py: each threshold and window, min samples, warn vs breach, boundaries."""

from __future__ import annotations

import pytest

from gateway.aggregate import LatencyHistogram
from rollout.policy import (
    Verdict,
    VerdictKind,
    WindowStats,
    assess,
    failed_read,
    rules_from_settings,
)
from rollout.settings import RolloutSettings

RULES = rules_from_settings(RolloutSettings())
MIN = 50


def stats(requests=100, errors=0, successes=None, latency_ms=100.0) -> WindowStats:
    successes = requests - errors if successes is None else successes
    hist = LatencyHistogram()
    if requests:
        hist.add(latency_ms, requests)
    return WindowStats(requests, errors, successes, hist)


def windows(**by_metric: WindowStats) -> dict[int, WindowStats]:
    """Default windows: error 300 s, p95 600 s, success 300 s (error and success share one)."""
    base = {300: stats(), 600: stats()}
    base.update({int(k[1:]): v for k, v in by_metric.items()})
    return base


def verdict_of(result: Verdict, metric: str) -> str:
    return next(m.verdict for m in result.metrics if m.metric == metric)


@pytest.mark.parametrize(
    ("why", "window", "metric", "expected"),
    [
        ("all fine", stats(), "error_rate", VerdictKind.HEALTHY),
        ("error 5% is not over 5%: warn only", stats(errors=5), "error_rate", VerdictKind.WARN),
        ("error 6% > 5%: breach", stats(errors=6), "error_rate", VerdictKind.BREACH),
        ("error 2% equals warn: healthy", stats(errors=2), "error_rate", VerdictKind.HEALTHY),
        ("error 3% > 2%: warn", stats(errors=3), "error_rate", VerdictKind.WARN),
        ("success 90% equals breach: warn", stats(successes=90), "success_rate", VerdictKind.WARN),
        ("success 89% < 90%: breach", stats(successes=89), "success_rate", VerdictKind.BREACH),
        (
            "success 93% equals warn: healthy",
            stats(successes=93),
            "success_rate",
            VerdictKind.HEALTHY,
        ),
        ("success 92% < 93%: warn", stats(successes=92), "success_rate", VerdictKind.WARN),
        (
            "4xx only lower success, not errors",
            stats(successes=80),
            "error_rate",
            VerdictKind.HEALTHY,
        ),
        (
            "49 requests < min 50",
            stats(requests=49, errors=49),
            "error_rate",
            VerdictKind.NOT_ENOUGH_DATA,
        ),
        (
            "exactly min samples judged",
            stats(requests=50, errors=50),
            "error_rate",
            VerdictKind.BREACH,
        ),
        ("no requests at all", stats(requests=0), "success_rate", VerdictKind.NOT_ENOUGH_DATA),
    ],
)
def test_rate_rules(why, window, metric, expected):
    assert verdict_of(assess(windows(w300=window), RULES, MIN), metric) == expected, why


@pytest.mark.parametrize(
    ("why", "latency_ms", "expected"),
    [
        ("well under target", 1_000, VerdictKind.HEALTHY),
        ("16 s: between target and warn", 16_000, VerdictKind.HEALTHY),
        ("18 s > 17 s warn", 18_000, VerdictKind.WARN),
        ("21 s > 20 s breach", 21_000, VerdictKind.BREACH),
        ("30 s far over", 30_000, VerdictKind.BREACH),
    ],
)
def test_p95_rule_uses_its_own_600s_window(why, latency_ms, expected):
    result = assess(windows(w600=stats(latency_ms=latency_ms)), RULES, MIN)
    assert verdict_of(result, "p95_ms") == expected, why


def test_p95_comes_from_the_95th_percentile_not_the_mean():
    hist = LatencyHistogram()
    hist.add(100, 94)
    hist.add(30_000, 6)  # 6 % slow: the 95th value is slow
    result = assess(windows(w600=WindowStats(100, 0, 100, hist)), RULES, MIN)
    p95 = next(m for m in result.metrics if m.metric == "p95_ms")
    assert p95.verdict == VerdictKind.BREACH
    assert p95.value == pytest.approx(30_000, rel=0.02)


def test_p95_breach_also_needs_min_samples():
    result = assess(windows(w600=stats(requests=10, latency_ms=60_000)), RULES, MIN)
    assert verdict_of(result, "p95_ms") == VerdictKind.NOT_ENOUGH_DATA
    assert result.verdict == VerdictKind.NOT_ENOUGH_DATA


@pytest.mark.parametrize(
    ("why", "w300", "w600", "overall"),
    [
        ("all healthy", stats(), stats(), VerdictKind.HEALTHY),
        ("breach beats a filling window", stats(errors=10), stats(requests=3), VerdictKind.BREACH),
        ("warn beats not enough data", stats(errors=3), stats(requests=3), VerdictKind.WARN),
        ("breach beats warn", stats(errors=3), stats(latency_ms=25_000), VerdictKind.BREACH),
        (
            "one filling window blocks healthy",
            stats(),
            stats(requests=3),
            VerdictKind.NOT_ENOUGH_DATA,
        ),
        ("nothing at all", stats(requests=0), stats(requests=0), VerdictKind.NOT_ENOUGH_DATA),
    ],
)
def test_overall_precedence(why, w300, w600, overall):
    assert assess({300: w300, 600: w600}, RULES, MIN).verdict == overall, why


def test_verdict_carries_its_numbers():
    result = assess(windows(w300=stats(requests=200, errors=20)), RULES, MIN, at=123.0)
    error = next(m for m in result.metrics if m.metric == "error_rate")
    assert (error.value, error.warn, error.breach, error.target) == (0.1, 0.02, 0.05, 0.01)
    assert (error.window_seconds, error.samples, error.needed) == (300, 200, 50)
    assert result.reason() == "breach: error_rate 0.1 > 0.05 over 300s (200 samples)"
    assert Verdict.from_dict(result.to_dict()) == result


def test_missing_window_counts_as_empty():
    assert assess({}, RULES, MIN).verdict == VerdictKind.NOT_ENOUGH_DATA


def test_failed_read_is_its_own_verdict():
    result = failed_read("store unreadable", at=5.0)
    assert result.verdict == VerdictKind.ERROR and result.reason() == "store unreadable"
