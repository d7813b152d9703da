"""`ion-run` end to end: the real three servers as child processes, a chat, a clean stop.

Orphans are found by a marker variable every child inherits: after the supervisor exits, no
process on the machine may still carry it in /proc/<pid>/environ (children and grandchildren).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy.local.run import LocalRunSettings, banner
from deploy.local.stack import Tokens
from tests.support.servers import free_port, wait_until

REPO = Path(__file__).resolve().parents[3]
MARKER = "ION_RUN_TEST_MARKER"

pytestmark = pytest.mark.slow


def processes_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose environment carries `MARKER=marker`."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Run:
    process: subprocess.Popen
    run_dir: Path
    marker: str
    stdout: Path
    stderr: Path
    gateway_url: str

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")

    def errors(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


def start_ion_run(tmp_path: Path, extra_env: dict[str, str], *args: str) -> Run:
    marker = uuid.uuid4().hex
    gateway_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_ADMIN_TOKEN")}
    env |= {MARKER: marker, "ION_RUN_GATEWAY_PORT": str(gateway_port), **extra_env}
    stdout, stderr = tmp_path / "out.txt", tmp_path / "err.txt"
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "deploy.local.run", "--dir", str(run_dir), *args]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=err)
    return Run(process, run_dir, marker, stdout, stderr, f"http://127.0.0.1:{gateway_port}")


def finish(run: Run, timeout: float = 30) -> int:
    try:
        return run.process.wait(timeout)
    finally:
        if run.process.poll() is None:
            run.process.kill()
        for pid in processes_with(run.marker):  # never leave strays behind a failed test
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Run]:
    ports = ["--legacy-port", str(free_port()), "--canary-port", str(free_port())]
    run = start_ion_run(tmp_path, {"LEGACY_LOG_LEVEL": "WARNING"}, *ports)
    try:
        wait_until(lambda: "stack is up" in run.output() or run.process.poll() is not None,
                   60, "ion-run to announce the stack")  # fmt: skip
        assert run.process.poll() is None, run.errors()
        yield run
    finally:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGTERM)
        finish(run)


def test_stack_serves_a_chat_and_stops_cleanly_on_sigterm(running: Run) -> None:
    banner = running.output()
    assert running.gateway_url in banner
    assert "GATEWAY_ADMIN_TOKEN=" in banner and "CANARY_ADMIN_TOKEN=" in banner  # generated
    assert "ion-rollout status" in banner and "make demo" in banner

    body = {"message": "안녕하세요", "user_id": "alice"}
    response = httpx.post(f"{running.gateway_url}/chat", json=body, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-canary-target"] == "legacy"  # the store starts at 0%
    assert response.json()["content"]

    pids = json.loads((running.run_dir / "pids.json").read_text())
    children = set(pids["children"].values())
    assert pids["supervisor"] == running.process.pid
    assert children <= set(processes_with(running.marker))
    assert (running.run_dir / "rollout.db").exists()

    running.process.send_signal(signal.SIGTERM)
    assert finish(running) == 0, running.errors()
    assert processes_with(running.marker) == []
    assert not (running.run_dir / "pids.json").exists()
    assert "ion-run: stopping" in running.output()


def test_port_in_use_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = start_ion_run(tmp_path, {"ION_RUN_CANARY_PORT": str(port)},
                            "--legacy-port", str(free_port()))  # fmt: skip
        code = finish(run)
    assert code != 0
    assert f"port {port} (canary)" in run.errors() and "already in use" in run.errors()
    assert processes_with(run.marker) == []
    assert not (run.run_dir / "legacy.log").exists()  # no child was started


def test_a_child_that_dies_early_is_reported_and_the_rest_stopped(tmp_path: Path) -> None:
    ports = ["--legacy-port", str(free_port()), "--canary-port", str(free_port())]
    run = start_ion_run(tmp_path, {"CANARY_RATE_LIMIT": "lots"}, *ports)
    code = finish(run, timeout=60)
    assert code == 1
    assert "canary exited with code 2" in run.errors()
    assert "CANARY_RATE_LIMIT" in run.errors()  # the child's own message, from its log
    assert processes_with(run.marker) == []


def test_invalid_own_setting_exits_2(tmp_path: Path) -> None:
    run = start_ion_run(tmp_path, {"ION_RUN_READY_TIMEOUT_SECONDS": "-1"})
    assert finish(run) == 2
    assert "ION_RUN_READY_TIMEOUT_SECONDS" in run.errors()


def test_banner_shows_the_store_without_its_password() -> None:
    text = banner(LocalRunSettings(), Tokens("g" * 24, "c" * 24), "redis://:hunter2@db:6379/0")
    assert "store    redis://:***@db:6379/0" in text and "hunter2" not in text


def test_old_timeout_names_still_work_with_a_warning(tmp_path: Path) -> None:
    """ION_RUN_READY_TIMEOUT_S (renamed `_SECONDS`): honoured, so -1 is still refused by it."""
    run = start_ion_run(tmp_path, {"ION_RUN_READY_TIMEOUT_S": "-1"})
    assert finish(run) == 2
    errors = run.errors()
    assert (
        "ION_RUN_READY_TIMEOUT_S is deprecated" in errors
        and "ION_RUN_READY_TIMEOUT_SECONDS" in errors
    )
