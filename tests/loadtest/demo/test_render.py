"""loadtest/demo/render.py: the live board and the verdict lines."""

from __future__ import annotations

import pytest
from rich.console import Console

from loadtest.demo.render import Board, metric_line, render_board
from tests.loadtest.demo.runs import BREACH, run_ledger


def test_board_shows_stages_flips_and_the_verdict_numbers():
    ledger = run_ledger(flip=True)
    board = Board("demo", ledger, started_at=0.0)
    board.say(3.0, "gateway routes 5% of buckets to the canary")
    verdict = {"verdict": "breach", "at": 20.0, "metrics": [BREACH]}
    board.status = {"state": "rolled_back", "percent": 0, "version": 6, "last_verdict": verdict}
    console = Console(record=True, width=100)
    console.print(render_board(board))
    text = console.export_text()
    assert "[   3.0s] gateway routes 5%" in text and "rolled_back at 0%" in text
    assert "error_rate         breach          E 2.5e+04/1.6e+04 11.3x [2, inf]" in text
    assert "while the stage grew: 2" in text  # no rollback time on the board yet
    assert "5%" in text and "50.0% 1/2" in text  # stage row: users on canary


GUARD = {
    **BREACH, "metric": "guard_error_rate", "kind": "guard", "canary_rate": 0.125,
    "line": 0.05, "shared": True,
}  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (BREACH, "breach          E 2.5e+04/1.6e+04 11.3x [2, inf], canary 10/80"),
        ({**BREACH, "verdict": "healthy", "ratio_high": 1.41}, "healthy         E 2.5e+04"),
        (GUARD, "guard_error_rate   breach          E 2.5e+04/1.6e+04 12.50% (line 5.00%) both"),
    ],
)
def test_metric_line_shows_evidence_level_and_effect(metric, expected):
    assert expected in metric_line(metric).plain
