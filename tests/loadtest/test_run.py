"""Scenario table and the Locust command line `loadtest.run` builds (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from loadtest.run import LOCUSTFILE, SCENARIOS, Scenario, default_prefix, locust_command


@pytest.mark.parametrize(
    ("name", "users"),
    [("light", 10), ("medium", 50), ("heavy", 100), ("stress", 200)],  # the original runbook
)
def test_scenario_users(name: str, users: int) -> None:
    assert SCENARIOS[name].users == users
    assert 0 < SCENARIOS[name].spawn_rate <= users


def test_locust_command() -> None:
    command = locust_command(
        Scenario(users=10, spawn_rate=2, duration="30s"),
        host="http://127.0.0.1:8080",
        csv_prefix=Path("out/x"),
        python="/py",
    )
    assert command == [
        "/py", "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--users", "10", "--spawn-rate", "2", "--run-time", "30s", "--stop-timeout", "5",
        "--host", "http://127.0.0.1:8080", "--csv", "out/x",
    ]  # fmt: skip


def test_duration_override() -> None:
    command = locust_command(SCENARIOS["stress"], host="h", csv_prefix=Path("p"), duration="5s")
    assert command[command.index("--run-time") + 1] == "5s"


def test_default_prefix_is_timestamped_under_run_dir() -> None:
    now = datetime(2025, 10, 22, 18, 41, 5, tzinfo=UTC)
    assert default_prefix("light", now) == Path(".run/loadtest/light-20251022T184105Z")


def test_locustfile_exists() -> None:
    assert LOCUSTFILE.is_file()
