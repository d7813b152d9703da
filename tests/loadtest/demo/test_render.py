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
    verdict = {"verdict": "breach", "at": 20.0, "metrics": [{**BREACH, "warn": 0.02}]}
    board.status = {"state": "rolled_back", "percent": 0, "version": 6, "last_verdict": verdict}
    console = Console(record=True, width=100)
    console.print(render_board(board))
    text = console.export_text()
    assert "[   3.0s] gateway routes 5%" in text and "rolled_back at 0%" in text
    assert "12.00%  breach (> 5.00%) over 30s, 80/10 samples" in text
    assert "while the stage grew: 2" in text  # no rollback time on the board yet
    assert "5%" in text and "50.0% 1/2" in text  # stage row: users on canary


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ({**BREACH}, "breach (> 5.00%) over 30s, 80/10 samples"),
        ({**BREACH, "verdict": "warn", "warn": 0.02}, "warn (> 2.00%)"),
        ({**BREACH, "verdict": "healthy", "value": 0.001}, "healthy (breach > 5.00%)"),
        (
            {**BREACH, "metric": "success_rate", "verdict": "healthy", "breach": 0.9},
            "healthy (breach < 90.00%)",
        ),
    ],
)
def test_metric_line_names_the_threshold_that_matters(metric, expected):
    assert expected in metric_line({"warn": 0.02, **metric}).plain
