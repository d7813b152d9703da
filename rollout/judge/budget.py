"""How ROLLOUT_ALPHA (the false-rollback budget of one rollout) is split, in one place.

alpha (default 0.001) = P(a healthy canary is ever rolled back, paused or stepped back by the
judge during the whole rollout), whatever its length. Split three ways (a union bound):

1. Across stages, by stage index: the judged stages (every stage before 100 %) get 1/2, 1/4,
   1/8, ... of alpha, the last judged stage the remainder (4 judged stages: 1/2, 1/4, 1/8, 1/8).
   The first stage has the least traffic, so it gets the most. A stage entered again after a
   step back reuses its index's share: it can only be re-entered after a breach, and the
   budget bounds the *first* false breach.
2. Across checks within a stage: error rate 55 %, success rate 12 %, slow share 23 %
   (canary vs baseline), and the three absolute guards 10 % together. A guard's baseline twin
   only decides whether a breach is shared; it spends nothing.
3. Within a check: 80 % on the e-process started with the stage (fast when the fault is there
   from the start), 20 % on the late starts (`sequential.restart_weight`; their weights sum to
   exactly 1 over an unbounded stage, so no horizon is needed).

"healthy" is a different error (certifying a canary that is worse than the tolerance); its
budget ROLLOUT_HEALTHY_ALPHA is split evenly over the three comparative checks.
"""

from __future__ import annotations

from rollout.judge.checks import Budget

CHECK_SHARES: dict[str, float] = {
    "error_rate": 0.55,
    "success_rate": 0.12,
    "slow_share": 0.23,
    "guard_error_rate": 0.10 / 3,
    "guard_success_rate": 0.10 / 3,
    "guard_p95": 0.10 / 3,
}
START_SHARE = 0.8
COMPARATIVE = ("error_rate", "success_rate", "slow_share")


def stage_share(index: int, judged_stages: int) -> float:
    """Share of alpha for stage `index` of `judged_stages` (the stages before 100 %)."""
    judged = max(1, judged_stages)
    index = min(max(index, 0), judged - 1)
    return 0.5 ** (index + 1) if index < judged - 1 else 0.5 ** (judged - 1)


def check_budget(
    check: str, stage_index: int, judged_stages: int, alpha: float, healthy_alpha: float
) -> Budget:
    share = stage_share(stage_index, judged_stages) * CHECK_SHARES[check]
    return Budget(alpha * share, START_SHARE, healthy_alpha / len(COMPARATIVE))
