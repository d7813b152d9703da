"""rollout/judge/budget.py: the whole budget is spent once, never more."""

from __future__ import annotations

import pytest

from rollout.judge.budget import CHECK_SHARES, START_SHARE, check_budget, stage_share


@pytest.mark.parametrize("judged", [1, 2, 4, 7])
def test_stage_shares_sum_to_one(judged):
    assert sum(stage_share(i, judged) for i in range(judged)) == pytest.approx(1.0)


def test_four_judged_stages_get_a_half_a_quarter_and_two_eighths():
    assert [stage_share(i, 4) for i in range(4)] == [0.5, 0.25, 0.125, 0.125]


def test_check_shares_sum_to_one_and_a_check_gets_its_part():
    assert sum(CHECK_SHARES.values()) == pytest.approx(1.0)
    budget = check_budget("error_rate", 0, 4, 0.001, 0.01)
    assert budget.alpha == pytest.approx(0.001 * 0.5 * 0.55)
    assert (budget.w0, budget.threshold) == (START_SHARE, pytest.approx(1 / 0.000275))
