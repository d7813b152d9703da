"""Supervisor pieces that need no real servers: stop signals, log tails, pid file."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from deploy.local import supervisor as sup
from deploy.local.stack import ChildSpec
from tests.support.servers import wait_until


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_request_a_stop(sig: int) -> None:
    stop = threading.Event()
    before = signal.getsignal(sig)
    restore = sup.install_stop_handlers(stop)
    try:
        os.kill(os.getpid(), sig)
        assert stop.wait(5)
    finally:
        restore()
    assert signal.getsignal(sig) is before


def sleeper(tmp_path: Path, name: str, code: str) -> sup.Child:
    argv = (sys.executable, "-c", code)
    spec = ChildSpec(name, argv, dict(os.environ), 0, "http://127.0.0.1:9/", frozenset({200}))
    return sup.start_child(spec, tmp_path)


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
               "print('ready', flush=True); time.sleep(60)"  # fmt: skip
    polite = "import time; time.sleep(60)"
    children = [sleeper(tmp_path, "stubborn", stubborn), sleeper(tmp_path, "polite", polite)]
    wait_until(lambda: "ready" in children[0].log_path.read_text(), 10, "SIGTERM ignored")
    assert sup.stop_children(children, timeout_s=0.5) == ["stubborn"]
    assert all(not c.alive for c in children)
    assert children[1].process.returncode == -signal.SIGTERM


def test_early_death_shows_the_last_log_lines(tmp_path: Path) -> None:
    code = "import sys; print('\\n'.join(f'line {i}' for i in range(30))); sys.exit(2)"
    child = sleeper(tmp_path, "legacy", code)
    child.process.wait(30)
    message = sup.death_message(child)
    assert message.startswith(f"legacy exited with code 2 (log: {child.log_path})")
    assert "line 29" in message and "line 9\n" not in message  # only the last 20 lines
    with pytest.raises(sup.StackError, match="legacy exited with code 2"):
        sup.wait_ready([child], 5, threading.Event())
    sup.stop_children([child], 1)


def test_pid_file_names_every_child(tmp_path: Path) -> None:
    child = sleeper(tmp_path, "canary", "import time; time.sleep(60)")
    try:
        path = sup.write_pid_file(tmp_path, [child])
        data = json.loads(path.read_text())
        assert data == {"supervisor": os.getpid(), "children": {"canary": child.process.pid}}
    finally:
        sup.stop_children([child], 5)


def test_tail_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert sup.tail(tmp_path / "nope.log") == ""
