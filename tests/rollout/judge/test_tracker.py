"""rollout/judge/tracker.py: each settled second read once, late rows folded at their place."""

from __future__ import annotations

import pytest

from gateway.aggregate import TargetSecond
from rollout.judge.judge import JudgeConfig
from rollout.judge.tracker import StageTracker, by_fold
from rollout.machine import RolloutState, Status
from rollout.store import LateRow
from rollout.store.sqlite import SqliteStore

STAGE_START = 1000.0  # the stage's first whole second is 1001


@pytest.fixture
def store(tmp_path):
    opened = SqliteStore(str(tmp_path / "s.db"))
    yield opened
    opened.close()


def canary(second: int, requests: int = 1, errors: int = 0) -> TargetSecond:
    return TargetSecond(second, "canary", requests, errors, requests - errors, started=requests)


def test_the_tracker_catches_up_in_chunks_and_restarts_on_a_new_stage(store):
    store.append_aggregates([TargetSecond(s, "canary", 1, 0, 1) for s in range(1001, 1100)])
    tracker = StageTracker(JudgeConfig(), chunk_seconds=40)
    state = RolloutState(Status.PROGRESSING, 5, 0, None, STAGE_START, STAGE_START)
    assert tracker.catch_up(store, state, 1200.0, 1.5).last_second == 1040
    assert tracker.catch_up(store, state, 1200.0, 1.5).last_second == 1080
    judge = tracker.catch_up(store, state, 1200.0, 1.5)
    assert judge.shares["error_rate"].canary_exposure == 99  # every row once, none twice
    advanced = RolloutState(Status.PROGRESSING, 10, 1, None, STAGE_START, 1150.0)
    fresh = tracker.catch_up(store, advanced, 1200.0, 1.5)
    assert fresh is not judge and fresh.first_second == 1151 and fresh.stage_index == 1


def test_late_rows_are_folded_once_just_before_their_fold_second(store):
    tracker = StageTracker(JudgeConfig())
    state = RolloutState(Status.PROGRESSING, 5, 0, None, STAGE_START, STAGE_START)
    store.append_aggregates([canary(s) for s in range(1001, 1013)])
    judge = tracker.catch_up(store, state, 1011.5, 1.5)  # horizon 1010: judged 1001..1009
    error = judge.shares["error_rate"]
    assert (judge.last_second, error.canary_exposure) == (1009, 9)
    store.append_aggregates([canary(1005, 10, 10), canary(990, 50, 50)])  # late: fold at 1010
    assert [(r.fold_second, r.row.second) for r in store.late_series(1010, 1011)] == [
        (1010, 990), (1010, 1005)
    ]  # fmt: skip
    tracker.catch_up(store, state, 1012.5, 1.5)  # judges 1010, folding 1005 in first
    assert (judge.last_second, error.canary_exposure, error.canary_events) == (1010, 20, 10)
    tracker.catch_up(store, state, 1013.5, 1.5)
    assert (error.canary_exposure, error.canary_events) == (21, 10)  # not folded twice
    rebuilt = StageTracker(JudgeConfig()).catch_up(store, state, 1013.5, 1.5)
    assert rebuilt.verdict().to_dict() == judge.verdict().to_dict()  # a new leader agrees


def test_by_fold_groups_late_rows_by_fold_second_then_second():
    rows = [LateRow(7, canary(3)), LateRow(7, TargetSecond(3, "baseline", 2)),
            LateRow(7, canary(2)), LateRow(9, canary(4))]  # fmt: skip
    groups = by_fold(rows)
    assert [(s, sorted(series)) for s, series in groups[7]] == [
        (2, ["canary"]), (3, ["baseline", "canary"])
    ]  # fmt: skip
    assert [s for s, _ in groups[9]] == [4]
