"""`python -m legacy_service` as a real process: serves /health on its port, refuses bad config."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from legacy_service.__main__ import main
from tests.support.servers import free_port, wait_http_ok


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEGACY_")}
    env.update(extra)
    return env


@pytest.mark.slow
def test_module_serves_health():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "legacy_service"],
        env=_env(LEGACY_PORT=str(port), LEGACY_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health")
        body = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert (body["status"], body["pipeline_ready"]) == ("healthy", True)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)  # also closes the pipe
    # SIGTERM (what Cloud Run sends) is a graceful stop; uvicorn re-raises the signal after it
    assert process.returncode in (0, -signal.SIGTERM)
    assert b"Traceback" not in stderr


@pytest.mark.parametrize(("name", "value"), [("LEGACY_RATE_LIMIT", "lots"), ("LEGACY_PORT", "x")])
def test_bad_settings_exit_2_naming_the_variable(monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)
    assert main() == 2
    stderr = capsys.readouterr().err
    assert name in stderr
    assert "Traceback" not in stderr
