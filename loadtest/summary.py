"""Locust `*_stats.csv` -> the Markdown table the original load-test report used.

One row per request name plus an overall row (Locust's `Aggregated` line): requests, failures,
success %, average, p50, p95, p99 (ms) and requests per second. Usable on its own:
`python -m loadtest.summary .run/loadtest/light_stats.csv`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

OVERALL = "Aggregated"
HEADER = (
    "| Endpoint | Requests | Failures | Success % | Avg (ms) | P50 (ms) | P95 (ms) | P99 (ms) "
    "| Req/s |"
)
RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"


@dataclass(frozen=True)
class StatsRow:
    """One line of the report; latencies in milliseconds, None where Locust wrote N/A."""

    name: str
    requests: int
    failures: int
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    rps: float

    @property
    def success_percent(self) -> float | None:
        """Share of requests that did not fail; None when there were no requests at all."""
        if self.requests == 0:
            return None
        return (self.requests - self.failures) / self.requests * 100


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None


def parse_row(record: Mapping[str, str]) -> StatsRow:
    """One CSV record -> StatsRow; the request method is kept in the name (`POST /chat`)."""
    method, name = record.get("Type", ""), record.get("Name", "")
    label = "**Overall**" if name == OVERALL else f"{method} {name}".strip()
    return StatsRow(
        name=label,
        requests=int(record.get("Request Count") or 0),
        failures=int(record.get("Failure Count") or 0),
        avg_ms=_number(record.get("Average Response Time")),
        p50_ms=_number(record.get("50%")),
        p95_ms=_number(record.get("95%")),
        p99_ms=_number(record.get("99%")),
        rps=_number(record.get("Requests/s")) or 0.0,
    )


def parse_stats(lines: Iterable[str]) -> list[StatsRow]:
    """All rows of a Locust stats CSV, overall row last (as Locust writes it)."""
    rows = [parse_row(record) for record in csv.DictReader(lines)]
    return sorted(rows, key=lambda row: row.name == "**Overall**")


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render_row(row: StatsRow) -> str:
    cells = (
        row.name,
        f"{row.requests:,}",
        f"{row.failures:,}",
        _fmt(row.success_percent, 2),
        _fmt(row.avg_ms, 1),
        _fmt(row.p50_ms),
        _fmt(row.p95_ms),
        _fmt(row.p99_ms),
        _fmt(row.rps, 2),
    )
    return "| " + " | ".join(cells) + " |"


def render_markdown(rows: Sequence[StatsRow]) -> str:
    return "\n".join([HEADER, RULE, *(render_row(row) for row in rows)])


def summarize_file(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return render_markdown(parse_stats(handle))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.summary", description=__doc__)
    parser.add_argument("stats_csv", type=Path, help="Locust <prefix>_stats.csv")
    args = parser.parse_args(argv)
    try:
        print(summarize_file(args.stats_csv))
    except (OSError, ValueError, csv.Error) as exc:
        print(f"loadtest.summary: cannot read {args.stats_csv}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
