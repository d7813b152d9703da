"""loadtest/demo/summary.py: finding the rollback and judging whether the demo made its point."""

from __future__ import annotations

import json

import pytest

from loadtest.demo.ledger import CANARY, LEGACY
from loadtest.demo.render import render_summary, summary_rows
from loadtest.demo.summary import breach_metric, build_summary, find_rollback
from tests.loadtest.demo.runs import AUTO, BREACH, run_ledger


def test_find_rollback_takes_the_newest_rollback_of_this_run():
    history = [{"verb": "advance", "at": 25.0}, AUTO, {"verb": "rollback", "at": 1.0}]
    assert find_rollback(history, since=10.0) is AUTO
    assert find_rollback(history, since=21.0) is None
    assert breach_metric(AUTO) == BREACH and breach_metric(None) is None


def summary_of(ledger, rollback=AUTO, final=None):
    final = final or {"state": "rolled_back", "percent": 0}
    return build_summary(
        ledger, fault_at=10.0, rollback=rollback, final_status=final, legacy_since=21.0
    )


def test_summary_of_a_good_run():
    summary = summary_of(run_ledger())
    assert summary.ok and summary.rolled_back_automatically and summary.all_legacy_after_rollback
    assert (summary.requests, summary.user_errors, summary.flips) == (5, 1, 0)
    assert summary.sides == {LEGACY: 3, CANARY: 2}
    assert summary.errors_by_side == {LEGACY: 0, CANARY: 1}
    assert (summary.returned_users, summary.after_rollback) == (1, {LEGACY: 2, CANARY: 0})
    assert summary.fault_to_rollback_s == pytest.approx(10.0)
    assert summary.breach == BREACH and summary.rollback_reason == AUTO["reason"]
    data = summary.to_dict()
    assert data["ok"] is True and json.loads(json.dumps(data))["final_state"] == "rolled_back"
    assert ("result", "OK") in summary_rows(summary)
    assert render_summary(summary).row_count == len(summary_rows(summary))


@pytest.mark.parametrize(
    ("summary", "why"),
    [
        (summary_of(run_ledger(flip=True)), "a user flipped back while the stage grew"),
        (summary_of(run_ledger(after_rollback_side=CANARY)), "canary traffic after rollback"),
        (summary_of(run_ledger(), rollback={**AUTO, "verb": "rollback"}), "operator rollback"),
        (summary_of(run_ledger(), rollback=None), "no rollback at all"),
        (summary_of(run_ledger(), final={"state": "progressing", "percent": 50}), "not at 0 %"),
    ],
)
def test_summary_is_not_ok_when_the_demo_did_not_show_its_point(summary, why):
    assert not summary.ok, why
    assert ("result", "NOT AS EXPECTED") in summary_rows(summary)


def test_summary_without_rollback_has_no_duration_and_counts_every_move_as_a_flip():
    summary = summary_of(run_ledger(flip=True), rollback=None)
    assert (summary.fault_to_rollback_s, summary.flips, summary.returned_users) == (None, 2, 0)
    assert summary.flip_examples == ["c at 5%", "c at 5%"]


def test_summary_row_of_the_breach_shows_the_evidence():
    rows = dict(summary_rows(summary_of(run_ledger())))
    assert rows["breach"] == (
        "error_rate 11.3x [2, inf]: evidence E 2.5e+04 >= 1.6e+04, canary 10/80, "
        "baseline 1/90 (seen 80, needed 40)"
    )
