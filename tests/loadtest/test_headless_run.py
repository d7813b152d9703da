"""One short headless Locust run through `loadtest.run` against a real stack on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.summary import parse_stats, summarize_file


@pytest.mark.slow
def test_light_scenario_for_a_few_seconds(stack: str, tmp_path: Path) -> None:
    prefix = tmp_path / "light"
    command = [sys.executable, "-m", "loadtest.run", "light", "--host", stack]
    command += ["--duration", "4s", "--csv-prefix", str(prefix)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]  # Locust exits 1 when any request failed
    table = summarize_file(Path(f"{prefix}_stats.csv"))
    assert table in done.stdout  # the run prints the same table it wrote
    stats = Path(f"{prefix}_stats.csv").read_text(encoding="utf-8").splitlines()
    rows = {row.name: row for row in parse_stats(stats)}
    assert rows["**Overall**"].requests >= 5
    assert rows["**Overall**"].failures == 0  # healthy stack, generous local rate limit
    assert rows["POST /chat"].requests > 0
