"""ion-demo's command line: bad options, missing tokens, and real `--fast` runs.

The slow tests run `python -m loadtest.demo` as a subprocess starting its own stack on free
ports, the way `make demo` does, and read the JSON summary it writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.stack import port_is_free
from loadtest.demo import cli as demo
from loadtest.demo.plan import FAST_PLAN
from tests.support.servers import free_port, wait_until

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "argv", [["--error-rate", "2"], ["--users", "0"], ["--rate", "-1"], ["--concurrency", "0"]]
)
def test_bad_options_exit_2_with_a_message(argv, capsys):
    assert demo.main(argv) == 2
    assert "ion-demo:" in capsys.readouterr().out


def test_attaching_without_tokens_explains_which_variables_to_set(monkeypatch, capsys):
    monkeypatch.delenv("GATEWAY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("CANARY_ADMIN_TOKEN", raising=False)
    assert demo.main(["--stack", "attach", "--gateway-url", "http://127.0.0.1:9"]) == 1
    out = capsys.readouterr().out
    assert "GATEWAY_ADMIN_TOKEN and CANARY_ADMIN_TOKEN" in out and "--stack own" in out


def demo_command(tmp_path: Path, gateway_port: int) -> list[str]:
    return [
        sys.executable, "-m", "loadtest.demo", "--fast", "--stack", "own", "--no-live",
        "--gateway-port", str(gateway_port), "--run-dir", str(tmp_path / "run"),
        "--json", str(tmp_path / "summary.json"),
    ]  # fmt: skip


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "GATEWAY_"))}
    return {k: v for k, v in env.items() if not k.startswith("CANARY_")}


@pytest.mark.slow
def test_fast_demo_on_its_own_stack_rolls_back_automatically(tmp_path):
    port = free_port()
    done = subprocess.run(
        demo_command(tmp_path, port), cwd=REPO, env=child_env(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ok"] and summary["rolled_back_automatically"]
    assert (summary["rollback_verb"], summary["rollback_actor"]) == ("auto_rollback", "controller")
    assert summary["flips"] == 0
    assert summary["after_rollback"]["canary"] == 0 and summary["after_rollback"]["legacy"] > 0
    assert 0 < summary["fault_to_rollback_s"] < FAST_PLAN.rollback_timeout_s
    assert "error_rate" in summary["rollback_reason"]
    assert summary["breach"]["statistic"] >= summary["breach"]["threshold"]
    assert summary["breach"]["canary_requests"] >= 5
    assert (summary["final_state"], summary["final_percent"]) == ("rolled_back", 0)
    assert summary["sides"]["canary"] > 0 and summary["user_errors"] > 0
    assert "ROLLBACK by controller" in done.stdout and "ion-demo summary" in done.stdout
    assert port_is_free("127.0.0.1", port), "the demo's gateway is still listening"


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_its_stack(tmp_path):
    port = free_port()
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            demo_command(tmp_path, port), cwd=REPO, env=child_env(), stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(lambda: "routes 5%" in out_path.read_text(), 30, "the rollout to start")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 130
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "interrupted" in out_path.read_text()
    assert port_is_free("127.0.0.1", port), "the demo's gateway is still listening"


@pytest.mark.slow
def test_a_stack_that_cannot_start_is_reported_with_the_childs_reason(monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "short")  # the gateway refuses tokens < 8 chars
    port = free_port()
    assert demo.main(["--fast", "--stack", "own", "--gateway-port", str(port)]) == 1
    out = capsys.readouterr().out
    assert "did not start" in out and "GATEWAY_ADMIN_TOKEN" in out and "--run-dir" in out
    assert port_is_free("127.0.0.1", port)
