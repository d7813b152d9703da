"""Locust stats CSV -> Markdown summary, on a fixed fixture with exact numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest import summary
from loadtest.summary import StatsRow, parse_stats, render_markdown, summarize_file

FIXTURE = Path(__file__).parent / "data" / "sample_stats.csv"

EXPECTED_TABLE = """\
| Endpoint | Requests | Failures | Success % | Avg (ms) | P50 (ms) | P95 (ms) | P99 (ms) | Req/s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| POST /chat | 200 | 4 | 98.00 | 14.2 | 12 | 35 | 110 | 6.67 |
| GET /docs | 80 | 0 | 100.00 | 2.5 | 2 | 5 | 9 | 2.67 |
| GET /health | 0 | 0 | n/a | 0.0 | n/a | n/a | n/a | 0.00 |
| **Overall** | 280 | 4 | 98.57 | 10.9 | 9 | 30 | 100 | 9.33 |"""


def test_fixture_renders_the_exact_table() -> None:
    assert summarize_file(FIXTURE) == EXPECTED_TABLE


def test_parsed_numbers() -> None:
    rows = parse_stats(FIXTURE.read_text(encoding="utf-8").splitlines())
    chat, overall = rows[0], rows[-1]
    assert (chat.requests, chat.failures, chat.p95_ms, chat.rps) == (200, 4, 35.0, 6.666)
    assert overall.name == "**Overall**"
    assert overall.success_percent == pytest.approx(276 / 280 * 100)


@pytest.mark.parametrize(
    ("requests", "failures", "expected"),
    [
        (0, 0, None),  # nothing sent: no rate, not a perfect one
        (10, 0, 100.0),
        (10, 10, 0.0),
        (8, 2, 75.0),
    ],
)
def test_success_percent(requests: int, failures: int, expected: float | None) -> None:
    row = StatsRow("x", requests, failures, None, None, None, None, 0.0)
    assert row.success_percent == expected


def test_overall_row_goes_last_even_if_written_first() -> None:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    reordered = [lines[0], lines[-1], *lines[1:-1]]
    assert [row.name for row in parse_stats(reordered)][-1] == "**Overall**"


def test_empty_csv_gives_a_header_only_table() -> None:
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    assert render_markdown(parse_stats([header])) == "\n".join(EXPECTED_TABLE.splitlines()[:2])


def test_cli_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert summary.main([str(FIXTURE)]) == 0
    assert capsys.readouterr().out.strip() == EXPECTED_TABLE


def test_cli_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope_stats.csv"
    assert summary.main([str(missing)]) == 1
    assert f"cannot read {missing}" in capsys.readouterr().err
