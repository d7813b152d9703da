"""Pure fault decisions: exact, reproducible error counts and the latency/invalid modes."""

from __future__ import annotations

import random

import pytest

from canary_service.faults import (
    FaultConfig,
    FaultState,
    applies_to,
    decide,
)


def count_errors(config: FaultConfig, seed: int, n: int) -> list[int]:
    state = FaultState(config, random.Random(seed))
    return [d.status for d in (state.next_decision() for _ in range(n)) if d.status]


@pytest.mark.parametrize(
    ("rate", "n", "expected"),
    [
        (0.0, 1000, 0),
        (0.01, 1000, 10),
        (0.05, 1000, 50),
        (0.1, 200, 20),
        (0.25, 400, 100),
        (0.5, 10, 5),
        (1.0, 37, 37),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
def test_error_count_is_exact(rate: float, n: int, expected: int, seed: int) -> None:
    errors = count_errors(FaultConfig(error_rate=rate), seed, n)
    assert len(errors) == expected
    assert set(errors) <= {500, 503}


def test_fractional_totals_are_within_one_and_reproducible() -> None:
    config = FaultConfig(error_rate=0.333)
    first = count_errors(config, 7, 100)
    assert len(first) in (33, 34)
    assert count_errors(config, 7, 100) == first


def test_every_prefix_tracks_the_rate() -> None:
    state = FaultState(FaultConfig(error_rate=0.2), random.Random(3))
    errors = 0
    for i in range(1, 501):
        errors += bool(state.next_decision().status)
        assert abs(errors - 0.2 * i) <= 1, f"after {i} requests"


def test_both_error_statuses_are_used() -> None:
    assert set(count_errors(FaultConfig(error_rate=1.0), 1, 50)) == {500, 503}


def test_latency_and_jitter_bounds() -> None:
    rng = random.Random(5)
    delays = [
        decide(FaultConfig(latency_ms=100, jitter_ms=50), i, 0, rng).delay_ms for i in range(200)
    ]
    assert all(100 <= d <= 150 for d in delays)
    assert len(set(delays)) > 1


def test_invalid_mode_answers_400_for_every_request() -> None:
    state = FaultState(FaultConfig(invalid_response=True), random.Random(0))
    assert {state.next_decision().status for _ in range(20)} == {400}


def test_replace_restarts_the_count_and_reseeds() -> None:
    state = FaultState(FaultConfig(error_rate=0.5), random.Random(0))
    state.next_decision()
    state.replace(FaultConfig(error_rate=0.1), seed=9)
    assert state.index == 0
    again = FaultState(FaultConfig(error_rate=0.1), random.Random(9))
    assert state.offset == again.offset


def test_inactive_config_is_no_fault() -> None:
    state = FaultState(FaultConfig(), random.Random(0))
    decision = state.next_decision()
    assert decision.status is None and decision.delay_ms == 0


@pytest.mark.parametrize(
    ("path", "faulted"),
    [
        ("/chat", True),
        ("/chat/stream", True),
        ("/api/v2/recommend/personalized", True),
        ("/", False),
        ("/health", False),
        ("/metrics", False),
        ("/admin/faults", False),
        ("/chatty", False),
    ],
)
def test_applies_to(path: str, faulted: bool) -> None:
    assert applies_to(path) is faulted


@pytest.mark.parametrize(
    "body",
    [{"error_rate": 1.5}, {"error_rate": -0.1}, {"latency_ms": -1}, {"bogus": 1}],
)
def test_config_rejects_bad_values(body: dict) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**body)
