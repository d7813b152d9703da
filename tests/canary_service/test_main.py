"""`python -m canary_service` as a real subprocess: serves /health; bad settings exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.support.servers import free_port, wait_http_ok


def canary_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARY_")}
    env.update(extra)
    return env


def test_module_serves_health() -> None:
    port = free_port()
    env = canary_env(CANARY_PORT=str(port), CANARY_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [sys.executable, "-m", "canary_service"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health")
        body = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert body["status"] == "healthy" and body["pipeline_ready"] is True
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes both pipes


def test_bad_setting_exits_2_naming_the_variable() -> None:
    env = canary_env(CANARY_FAULT_ERROR_RATE="2")
    result = subprocess.run(
        [sys.executable, "-m", "canary_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "CANARY_FAULT_ERROR_RATE" in result.stderr
