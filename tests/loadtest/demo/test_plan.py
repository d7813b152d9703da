"""loadtest/demo/plan.py: the stage schedule, when a start is valid, the stack's environment."""

from __future__ import annotations

from loadtest.demo.plan import FAST_PLAN, plan_for, ramp_stages, stack_env, startable


def test_schedule_stops_before_the_last_stage_and_knows_when_start_is_valid():
    assert ramp_stages([5, 10, 25, 50, 100]) == [5, 10, 25, 50]
    assert ramp_stages([100]) == []
    assert [startable(s) for s in ("idle", "rolled_back", "completed")] == [True] * 3
    assert [startable(s) for s in ("progressing", "paused")] == [False] * 2


def test_stack_env_pins_the_demo_profile_and_fast_mode_shortens_the_intervals():
    normal, fast = stack_env(False, "sqlite:///x.db"), stack_env(True, "sqlite:///x.db")
    assert normal["ROLLOUT_PROFILE"] == "demo" and normal["ROLLOUT_AUTO_ADVANCE"] == "false"
    assert normal["ROLLOUT_BREACH_ACTION"] == "rollback"
    assert "ROLLOUT_SETTLE_SECONDS" not in normal
    assert fast["ROLLOUT_SETTLE_SECONDS"] == "0.3" and fast["ROLLOUT_STORE_URL"].endswith("x.db")
    assert (
        plan_for(True) is FAST_PLAN
        and FAST_PLAN.with_overrides(users=7, rate_per_s=None).users == 7
    )
