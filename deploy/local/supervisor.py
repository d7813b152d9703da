"""Starts, watches and stops the local stack's child processes.

Each child runs in its own process group (so a terminal's Ctrl-C reaches only the supervisor,
which then stops the children in order) and writes stdout+stderr to `<run_dir>/<name>.log`.
On Linux each child also gets a parent-death signal, so even a SIGKILLed supervisor leaves no
orphan. Stopping is SIGTERM to each group, a deadline, then SIGKILL for stragglers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from deploy.local.stack import ChildSpec

PID_FILE = "pids.json"


class StackError(RuntimeError):
    """The stack could not start or a child died; the message says which and why."""


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the supervisor dies."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux, or no libc: the process group still lets us stop it
        pass


def start_child(spec: ChildSpec, run_dir: Path) -> Child:
    log_path = run_dir / f"{spec.name}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        spec.argv,
        env=spec.env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        process_group=0,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    return Child(spec, process, log_path, log_file)


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file, for the message when a child dies early."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def death_message(child: Child) -> str:
    code = child.process.returncode
    head = f"{child.spec.name} exited with code {code} (log: {child.log_path})"
    last = tail(child.log_path)
    return f"{head}\n{last}" if last else head


def is_ready(spec: ChildSpec, client: httpx.Client) -> bool:
    try:
        return client.get(spec.ready_url).status_code in spec.ready_statuses
    except httpx.HTTPError:
        return False


def wait_ready(
    children: list[Child],
    timeout_s: float,
    stop: threading.Event,
    interval_s: float = 0.2,
) -> None:
    """Block until every child answers its ready URL; raise StackError if one dies or time's up."""
    deadline = time.monotonic() + timeout_s
    pending = list(children)
    with httpx.Client(timeout=1.0) as client:
        while pending:
            for child in pending:
                if not child.alive:
                    raise StackError(death_message(child))
            pending = [c for c in pending if not is_ready(c.spec, client)]
            if not pending or stop.is_set():
                return
            if time.monotonic() >= deadline:
                names = ", ".join(f"{c.spec.name} ({c.spec.ready_url})" for c in pending)
                raise StackError(f"not ready after {timeout_s:g}s: {names}")
            stop.wait(interval_s)


def signal_group(child: Child, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)


def stop_children(children: list[Child], timeout_s: float) -> list[str]:
    """SIGTERM every child's group, wait until the deadline, SIGKILL the rest; names killed."""
    for child in reversed(children):
        if child.alive:
            signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(remaining)
    killed = [c.spec.name for c in children if c.alive]
    for child in children:
        signal_group(child, signal.SIGKILL)  # also reaps grandchildren left in the group
        child.process.wait()
        child.log_file.close()
    return killed


def first_dead(children: list[Child]) -> Child | None:
    return next((c for c in children if not c.alive), None)


def write_pid_file(run_dir: Path, children: list[Child]) -> Path:
    """Records the supervisor's and children's pids, so tools and tests can check for orphans."""
    path = run_dir / PID_FILE
    data = {"supervisor": os.getpid(), "children": {c.spec.name: c.process.pid for c in children}}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def install_stop_handlers(stop: threading.Event) -> Callable[[], None]:
    """Ctrl-C and SIGTERM set `stop`; returns a function that restores the old handlers."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
