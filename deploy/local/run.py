"""`ion-run` / `make run`: the whole stack on this machine, stopped cleanly by Ctrl-C or SIGTERM.

Starts legacy (8081), canary (8082) and the gateway (8080) as child processes, waits until all
three are ready, prints the URLs and what to try next, then watches them. Exit codes: 0 after a
requested stop, 1 when the stack could not start or a child died, 2 for invalid settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings, SettingsError, load_settings, redact_url
from deploy.local import supervisor as sup
from deploy.local.stack import (
    ChildSpec,
    Ports,
    Tokens,
    base_url,
    build_specs,
    port_problems,
    resolve_tokens,
)


class LocalRunSettings(ServiceSettings):
    """ion-run's own options (`ION_RUN_*`); command-line flags override them."""

    model_config = SettingsConfigDict(env_prefix="ION_RUN_")

    host: str = "127.0.0.1"
    gateway_port: int = Field(8080, ge=1, le=65535)
    legacy_port: int = Field(8081, ge=1, le=65535)
    canary_port: int = Field(8082, ge=1, le=65535)
    dir: Path = Path(".run")
    ready_timeout_seconds: float = Field(30.0, gt=0)
    stop_timeout_seconds: float = Field(10.0, gt=0)

    renamed: ClassVar[dict[str, str]] = {
        "ready_timeout_s": "ready_timeout_seconds",
        "stop_timeout_s": "stop_timeout_seconds",
    }

    @property
    def ports(self) -> Ports:
        return Ports(gateway=self.gateway_port, legacy=self.legacy_port, canary=self.canary_port)


def parse_args(argv: Sequence[str] | None) -> dict[str, object]:
    """Flags given on the command line, as settings overrides (unset flags are left out)."""
    parser = argparse.ArgumentParser(prog="ion-run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="interface for all three servers (127.0.0.1)")
    for name, port in (("gateway", 8080), ("legacy", 8081), ("canary", 8082)):
        parser.add_argument(f"--{name}-port", type=int, help=f"{name} port ({port})")
    parser.add_argument("--dir", type=Path, help="run directory: logs, pid file, store (.run)")
    add = parser.add_argument
    add("--ready-timeout", dest="ready_timeout_seconds", type=float, help="seconds (30)")
    add("--stop-timeout", dest="stop_timeout_seconds", type=float, help="seconds (10)")
    args = vars(parser.parse_args(argv))
    return {key: value for key, value in args.items() if value is not None}


def banner(settings: LocalRunSettings, tokens: Tokens, store: str) -> str:
    """What the user sees once the stack is up: URLs, tokens, and commands to try next."""
    host, ports = settings.host, settings.ports
    gateway = base_url(host, ports.gateway)
    lines = [
        "ion-canary local stack is up",
        f"  gateway  {gateway}   (ready: {gateway}/readyz, metrics: {gateway}/metrics)",
        f"  legacy   {base_url(host, ports.legacy)}   (docs: /docs)",
        f"  canary   {base_url(host, ports.canary)}   (docs: /docs)",
        f"  store    {redact_url(store)}",
        f"  logs     {settings.dir}/legacy.log, canary.log, gateway.log",
    ]
    lines += [f"  {var}={_token(var, tokens)}   (generated)" for var in tokens.generated]
    lines += [
        "",
        "Try next (in another shell):",
        f"  curl -si -X POST {gateway}/chat -H 'Content-Type: application/json' "
        '-H \'X-User-Id: alice\' -d \'{"message": "안녕하세요", "user_id": "alice"}\'',
        f"  ROLLOUT_ADMIN_URL={gateway} GATEWAY_ADMIN_TOKEN={tokens.gateway} "
        ".venv/bin/ion-rollout status",
        f"  make demo        make probe        make load-light LOCUST_HOST={gateway}",
        "",
        "Ctrl-C stops all three.",
    ]
    return "\n".join(lines)


def _token(var: str, tokens: Tokens) -> str:
    return tokens.gateway if var == "GATEWAY_ADMIN_TOKEN" else tokens.canary


def say(message: str) -> None:
    print(message, flush=True)


def complain(message: str) -> None:
    print(f"ion-run: {message}", file=sys.stderr, flush=True)


def watch(children: list[sup.Child], stop: threading.Event) -> sup.Child | None:
    """Wait for a stop request; return the child that died first if that happens instead."""
    while not stop.wait(0.5):
        dead = sup.first_dead(children)
        if dead:
            return dead
    return None


def run_stack(settings: LocalRunSettings, environ: Mapping[str, str]) -> int:
    problems = port_problems(settings.host, settings.ports)
    if problems:
        for problem in problems:
            complain(problem)
        return 1
    settings.dir.mkdir(parents=True, exist_ok=True)
    tokens = resolve_tokens(environ)
    specs = build_specs(
        environ, host=settings.host, ports=settings.ports, tokens=tokens, run_dir=settings.dir
    )
    stop = threading.Event()
    restore = sup.install_stop_handlers(stop)
    children: list[sup.Child] = []
    try:
        return supervise(settings, specs, children, stop, tokens)
    finally:
        killed = sup.stop_children(children, settings.stop_timeout_seconds)
        if killed:
            complain("killed after the stop deadline: " + ", ".join(killed))
        (settings.dir / sup.PID_FILE).unlink(missing_ok=True)
        restore()


def supervise(
    settings: LocalRunSettings,
    specs: list[ChildSpec],
    children: list[sup.Child],
    stop: threading.Event,
    tokens: Tokens,
) -> int:
    """Start, wait for readiness, announce, watch. Returns the exit code."""
    try:
        for spec in specs:
            children.append(sup.start_child(spec, settings.dir))
        sup.write_pid_file(settings.dir, children)
        sup.wait_ready(children, settings.ready_timeout_seconds, stop)
    except sup.StackError as exc:
        complain(str(exc))
        return 1
    if stop.is_set():
        return 0
    say(banner(settings, tokens, specs[-1].env["ROLLOUT_STORE_URL"]))
    dead = watch(children, stop)
    if dead:
        complain(sup.death_message(dead))
        return 1
    say("ion-run: stopping")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `ion-run`. Reads the environment once, here, to hand it to the children."""
    try:
        settings = load_settings(LocalRunSettings, **parse_args(argv))
    except SettingsError as exc:
        complain(str(exc))
        return 2
    return run_stack(settings, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
