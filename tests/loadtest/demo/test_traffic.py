"""loadtest/demo/traffic.py: the pacer's spacing and the request bodies."""

from __future__ import annotations

import pytest

from loadtest.demo.traffic import Pacer, chat_body


@pytest.mark.parametrize(
    ("calls", "delays"),
    [
        ([0.0, 0.0, 0.0], [0.0, 0.1, 0.2]),  # three workers at once: spaced by the interval
        ([0.0, 0.05, 0.3], [0.0, 0.05, 0.0]),  # a late caller sends at once, no burst after
        ([1.0, 1.1, 1.2], [0.0, 0.0, 0.0]),  # callers already on the beat never wait
    ],
)
def test_pacer_spaces_requests_at_the_rate(calls, delays):
    pacer = Pacer(10.0)
    assert [pacer.delay(now) for now in calls] == pytest.approx(delays)


def test_pacer_refuses_a_rate_that_is_not_positive_and_bodies_carry_the_user():
    with pytest.raises(ValueError):
        Pacer(0)
    assert chat_body("u-1", 3)["user_id"] == "u-1"
