"""A stack of its own for the demo: legacy, canary and gateway as child processes.

Reuses `ion-run`'s pieces (`deploy.local.stack` decides env and commands, `deploy.local.supervisor`
starts, waits for readiness and stops), so the demo runs exactly what `make run` runs, only on
free (or given) ports, with the demo rollout profile and a fresh store in its own run directory.
Stopping is the supervisor's: SIGTERM to each child's process group, a deadline, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.local import supervisor as sup
from deploy.local.stack import Ports, Tokens, base_url, build_specs, port_problems, resolve_tokens
from loadtest.demo.admin import DemoError
from loadtest.demo.plan import stack_env

HOST = "127.0.0.1"


@dataclass(frozen=True)
class RunningStack:
    gateway_url: str
    canary_url: str
    tokens: Tokens
    run_dir: Path


def free_port(host: str = HOST) -> int:
    """A port the OS just gave out; 0 in `choose_ports` asks for one of these."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def choose_ports(gateway: int, legacy: int, canary: int) -> Ports:
    """Given ports as they are; 0 becomes a free port."""
    return Ports(*(port or free_port() for port in (gateway, legacy, canary)))


@contextlib.contextmanager
def own_stack(
    environ: Mapping[str, str],
    ports: Ports,
    *,
    fast: bool,
    run_dir: Path | None = None,
    ready_timeout_s: float = 30.0,
    stop_timeout_s: float = 10.0,
) -> Iterator[RunningStack]:
    """Start the three services, yield their URLs and tokens, stop them on the way out."""
    problems = port_problems(HOST, ports)
    if problems:
        raise DemoError("; ".join(problems))
    with _run_dir(run_dir) as directory:
        env = {**environ, **stack_env(fast, f"sqlite:///{directory / 'rollout.db'}")}
        tokens = resolve_tokens(env)
        specs = build_specs(env, host=HOST, ports=ports, tokens=tokens, run_dir=directory)
        children: list[sup.Child] = []
        try:
            for spec in specs:
                children.append(sup.start_child(spec, directory))
            _wait_ready(children, ready_timeout_s)
            yield RunningStack(
                base_url(HOST, ports.gateway), base_url(HOST, ports.canary), tokens, directory
            )
        finally:
            sup.stop_children(children, stop_timeout_s)


def _wait_ready(children: list[sup.Child], timeout_s: float) -> None:
    try:
        sup.wait_ready(children, timeout_s, threading.Event())
    except sup.StackError as exc:
        hint = "(a temporary run directory is removed at exit; --run-dir DIR keeps the logs)"
        raise DemoError(f"the demo stack did not start: {exc}\n{hint}") from None


@contextlib.contextmanager
def _run_dir(given: Path | None) -> Iterator[Path]:
    """The given directory (kept, logs included), else a temporary one removed at the end."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="ion-demo-") as name:
        yield Path(name)
