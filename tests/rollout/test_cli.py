"""rollout/cli.py against a real admin API on loopback: printed numbers, exit codes, hints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rollout.cli import main
from rollout.judge.evidence import CheckEvidence, CheckKind, Verdict, VerdictKind
from rollout.store.sqlite import SqliteStore
from tests.rollout.helpers import host_app
from tests.rollout.test_admin_api import TOKEN, make_extension
from tests.support.servers import free_port, serve_app, wait_until


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", TOKEN)
    monkeypatch.delenv("ROLLOUT_ADMIN_URL", raising=False)
    ext = make_extension(tmp_path)
    with serve_app(host_app(ext)) as url:
        monkeypatch.setenv("ROLLOUT_ADMIN_URL", url)
        yield ext


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_verbs_and_status_with_the_last_verdict(served, capsys):
    code, out, _ = run(capsys, "start", "--salt", "wave-2")
    assert code == 0 and "progressing at 5% (stage 1/5) version 1" in out
    assert "progressing at 10% (stage 2/5) version 2" in run(capsys, "advance")[1]
    served._store.record_verdict(
        Verdict(
            VerdictKind.WARN,
            (
                CheckEvidence(
                    "error_rate",
                    CheckKind.VS_BASELINE,
                    VerdictKind.WARN,
                    120.0,
                    4000.0,
                    7,
                    240,
                    20,
                    4560,
                    240,
                    900,
                    6.65,
                    1.41,
                    22.6,
                    0.0292,
                    0.00439,
                ),
                CheckEvidence(
                    "guard_p95",
                    CheckKind.GUARD,
                    VerdictKind.HEALTHY,
                    0.02,
                    30000.0,
                    1,
                    240,
                    9,
                    4560,
                    240,
                    None,
                    canary_rate=0.0042,
                    baseline_rate=0.002,
                    line=0.05,
                ),
                CheckEvidence(
                    "slow_share",
                    CheckKind.VS_BASELINE,
                    VerdictKind.NOT_ENOUGH_DATA,
                    1.0,
                    8000.0,
                    0,
                    4,
                    0,
                    80,
                    4,
                    None,
                ),
            ),
            at=0.0,
        ).to_dict()
    )
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "progressing at 10%" in out and "soak left" in out
    assert "last verdict: warn at 1970-01-01 00:00:00 UTC" in out
    for text in ("E 120 / 4e+03", "6.65x [1.41, 22.6]", "7/240", "20/4560", "240/900",
                 "0.42% (line 5.00%)", "4/-"):  # fmt: skip
        assert text in out, text
    assert "not_enough_data" in out


def test_rollback_reason_shows_in_history(served, capsys):
    run(capsys, "start")
    code, out, _ = run(capsys, "rollback", "--reason", "pager fired")
    assert code == 0 and "rolled_back at 0% version 2" in out
    code, out, _ = run(capsys, "history", "--limit", "5")
    assert code == 0
    assert "rollback" in out and "pager fired" in out and "progressing 5%" in out


def test_refused_verb_prints_the_json_error(served, capsys):
    code, _, err = run(capsys, "resume")
    assert code == 1
    assert "HTTP 409" in err and "cannot resume while idle" in err


def test_wrong_token_hints_at_the_variable(served, capsys, monkeypatch):
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "nope")
    code, _, err = run(capsys, "status")
    assert code == 1 and "HTTP 401" in err and "GATEWAY_ADMIN_TOKEN" in err


def test_url_is_taken_after_the_command_too(served, capsys, monkeypatch):
    """`ion-rollout status --url U`, as `ion-deploy status --project p` (issue 9)."""
    url = os.environ["ROLLOUT_ADMIN_URL"]
    monkeypatch.setenv("ROLLOUT_ADMIN_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    code, out, err = run(capsys, "status", "--url", url)
    assert code == 0 and "idle" in out, err
    code, out, err = run(capsys, "--url", url, "history")
    assert code == 0, err


def test_connection_refused_is_a_clear_message(capsys, monkeypatch):
    monkeypatch.delenv("ROLLOUT_ADMIN_URL", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "--url", url, "status")
    assert code == 2 and "cannot reach the gateway" in err and url in err


@pytest.mark.slow
def test_controller_process_takes_the_lease_and_stops_on_sigterm(tmp_path):
    store_path = tmp_path / "ctl.db"
    env = {**os.environ, "ROLLOUT_STORE_URL": f"sqlite:///{store_path}", "ROLLOUT_PROFILE": "demo"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rollout.cli", "controller"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with proc:  # closes the stdout pipe however the test ends
        try:
            wait_until(lambda: store_path.exists(), 10, "the store file")
            store = SqliteStore(str(store_path))
            wait_until(
                lambda: not store.acquire_lease("intruder", 0.001, time.time()), 10, "lease held"
            )
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=10)
            assert proc.returncode == 0
            events = [json.loads(ln)["event"] for ln in out.splitlines() if ln.startswith("{")]
            assert "rollout.controller_started" in events
            assert events[-1] == "rollout.controller_stopped"
            assert store.acquire_lease("intruder", 0.001, time.time())  # released on shutdown
            store.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
