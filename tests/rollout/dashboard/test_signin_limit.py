"""rollout/dashboard/signin_limit.py: failed sign-ins per client, in a table of bounded size."""

from __future__ import annotations

import pytest

from rollout.dashboard.signin_limit import SignInLimiter


def test_past_the_limit_the_client_waits_for_the_window_to_end():
    limiter = SignInLimiter(max_failures=3, window_seconds=60)
    for n in (1, 2, 3):
        assert limiter.retry_after("10.0.0.1", 100.0) is None
        assert limiter.failed("10.0.0.1", 100.0 + n) == n
    assert (
        limiter.retry_after("10.0.0.1", 110.0) == 51
    )  # the window began at 101, the first failure
    assert limiter.retry_after("10.0.0.2", 110.0) is None  # per client
    assert limiter.retry_after("10.0.0.1", 161.0) is None  # a new window
    assert limiter.failed("10.0.0.1", 161.0) == 1


def test_a_flood_of_addresses_cannot_grow_the_table():
    limiter = SignInLimiter(max_failures=2, window_seconds=60, max_clients=100)
    for i in range(10_000):
        limiter.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", 1.0)
    assert len(limiter) == 100


def test_the_least_recently_seen_client_is_evicted_first():
    limiter = SignInLimiter(max_failures=2, window_seconds=60, max_clients=2)
    limiter.failed("a", 1.0)
    limiter.failed("a", 1.0)  # a is blocked
    limiter.failed("b", 2.0)
    limiter.failed("a", 3.0)  # a touched again: b is now the oldest
    limiter.failed("c", 4.0)
    assert limiter.retry_after("a", 5.0) is not None
    assert limiter.retry_after("b", 5.0) is None and len(limiter) == 2


@pytest.mark.parametrize("kwargs", [{"max_failures": 0}, {"window_seconds": 0}, {"max_clients": 0}])
def test_nonsense_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        SignInLimiter(**kwargs)
