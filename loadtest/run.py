"""Run one of the original runbook's load scenarios headless, then print the summary table.

`python -m loadtest.run light|medium|heavy|stress --host URL [--duration 30s] [--csv-prefix P]`
(the `make load-*` targets call this). Locust runs as a subprocess with the CSV report under
`.run/loadtest/`; the exit code is Locust's own (1 when any request failed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loadtest.summary import summarize_file

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DEFAULT_DIR = Path(".run/loadtest")


@dataclass(frozen=True)
class Scenario:
    """Users and spawn rate from the original runbook; durations cut short for a 2-core box."""

    users: int
    spawn_rate: float
    duration: str


SCENARIOS: dict[str, Scenario] = {
    "light": Scenario(users=10, spawn_rate=2, duration="30s"),
    "medium": Scenario(users=50, spawn_rate=5, duration="45s"),
    "heavy": Scenario(users=100, spawn_rate=10, duration="60s"),
    "stress": Scenario(users=200, spawn_rate=20, duration="60s"),
}


def default_prefix(name: str, now: datetime, directory: Path = DEFAULT_DIR) -> Path:
    """`.run/loadtest/<scenario>-<UTC timestamp>`: runs never overwrite each other."""
    return directory / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def locust_command(
    scenario: Scenario,
    *,
    host: str,
    csv_prefix: Path,
    duration: str | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The headless Locust invocation for `scenario` (pure, so it is tested as data)."""
    return [
        python,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--users",
        str(scenario.users),
        "--spawn-rate",
        f"{scenario.spawn_rate:g}",
        "--run-time",
        duration or scenario.duration,
        "--stop-timeout",
        "5",
        "--host",
        host,
        "--csv",
        str(csv_prefix),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.run", description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS, key=lambda n: SCENARIOS[n].users))
    parser.add_argument("--host", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--duration", help="override the run time, e.g. 10s, 2m")
    parser.add_argument("--csv-prefix", type=Path, help="CSV prefix (.run/loadtest/<name>-<ts>)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    prefix = args.csv_prefix or default_prefix(args.scenario, datetime.now(UTC))
    prefix.parent.mkdir(parents=True, exist_ok=True)
    command = locust_command(scenario, host=args.host, csv_prefix=prefix, duration=args.duration)
    print(
        f"loadtest: {args.scenario}: {scenario.users} users, spawn {scenario.spawn_rate:g}/s, "
        f"{args.duration or scenario.duration} against {args.host}",
        flush=True,
    )
    code = subprocess.run(command, check=False).returncode
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        print(f"loadtest: locust wrote no {stats} (exit {code})", file=sys.stderr)
        return code or 1
    print(f"\n{summarize_file(stats)}\n\nCSV: {stats}")
    return code


if __name__ == "__main__":
    sys.exit(main())
