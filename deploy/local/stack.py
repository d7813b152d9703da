"""What `ion-run` starts: the three local services, each as a `ChildSpec` (command, env, URL).

Pure decisions only, so they are tested as tables: which env each child gets, which command runs
it, which URL says it is ready, and whether a port is free. The process handling lives in
`deploy.local.supervisor`; the command line in `deploy.local.run`.

Env policy: a child inherits the caller's whole environment unchanged (so `CANARY_FAULT_*`,
`ROLLOUT_*`, `LEGACY_*` ... reach the services as given). `ion-run` itself always sets the
host/port variables and the gateway's upstream URLs, because it owns the ports. It fills in
the admin tokens, the rollout store and the rate limits only when the caller left them unset.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The services' faithful default is 30/minute per client IP (ION_SPEC §1.6). Behind the gateway
#: every request comes from 127.0.0.1, so a demo or a load test would mostly see 429s. Locally we
#: use the original's own test-mode limit instead, unless the caller sets one.
LOCAL_RATE_LIMIT = "1000/second"

#: Health endpoints answer 429 when the caller kept a tight rate limit; that still proves the
#: server is up. The gateway's /readyz must say 200 (it answers 503 until its store is readable).
SERVICE_READY_STATUSES = frozenset({200, 429})
GATEWAY_READY_STATUSES = frozenset({200})


@dataclass(frozen=True)
class Ports:
    gateway: int = 8080
    legacy: int = 8081
    canary: int = 8082

    def named(self) -> dict[str, int]:
        return {"legacy": self.legacy, "canary": self.canary, "gateway": self.gateway}


@dataclass(frozen=True)
class ChildSpec:
    """One child process: how to start it and how to tell that it is ready."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(repr=False)
    port: int
    ready_url: str
    ready_statuses: frozenset[int]


@dataclass(frozen=True)
class Tokens:
    """Admin tokens the stack runs with; `generated` names those ion-run made up (to print)."""

    gateway: str
    canary: str
    generated: tuple[str, ...] = ()


def resolve_tokens(environ: Mapping[str, str], make_token=secrets.token_urlsafe) -> Tokens:
    """Use GATEWAY_ADMIN_TOKEN / CANARY_ADMIN_TOKEN when set; otherwise generate them."""
    generated = []
    values = {}
    for key, var in (("gateway", "GATEWAY_ADMIN_TOKEN"), ("canary", "CANARY_ADMIN_TOKEN")):
        values[key] = environ.get(var) or ""
        if not values[key]:
            values[key] = make_token(24)
            generated.append(var)
    return Tokens(values["gateway"], values["canary"], tuple(generated))


def store_url(environ: Mapping[str, str], run_dir: Path) -> str:
    """The rollout store: the caller's ROLLOUT_STORE_URL, else SQLite in the run directory."""
    return environ.get("ROLLOUT_STORE_URL") or f"sqlite:///{run_dir / 'rollout.db'}"


def base_url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def child_env(
    name: str,
    environ: Mapping[str, str],
    *,
    host: str,
    ports: Ports,
    tokens: Tokens,
    run_dir: Path,
) -> dict[str, str]:
    """The full environment for child `name`: the caller's env plus what ion-run decides."""
    env = dict(environ)
    env["PYTHONUNBUFFERED"] = "1"
    prefix = name.upper()
    env[f"{prefix}_HOST"] = host
    env[f"{prefix}_PORT"] = str(ports.named()[name])
    if name in ("legacy", "canary"):
        env.setdefault(f"{prefix}_RATE_LIMIT", LOCAL_RATE_LIMIT)
    if name == "canary":
        env["CANARY_ADMIN_TOKEN"] = tokens.canary
    if name == "gateway":
        env["GATEWAY_LEGACY_URL"] = base_url(host, ports.legacy)
        env["GATEWAY_CANARY_URL"] = base_url(host, ports.canary)
        env["GATEWAY_ADMIN_TOKEN"] = tokens.gateway
        env["ROLLOUT_STORE_URL"] = store_url(environ, run_dir)
    return env


_MODULES = {"legacy": "legacy_service", "canary": "canary_service", "gateway": "gateway"}
_READY_PATHS = {"legacy": "/health", "canary": "/health", "gateway": "/readyz"}


def build_specs(
    environ: Mapping[str, str],
    *,
    host: str,
    ports: Ports,
    tokens: Tokens,
    run_dir: Path,
    python: str = sys.executable,
) -> list[ChildSpec]:
    """The three children in start order: both upstreams first, then the gateway in front."""
    specs = []
    for name in ("legacy", "canary", "gateway"):
        env = child_env(name, environ, host=host, ports=ports, tokens=tokens, run_dir=run_dir)
        port = ports.named()[name]
        statuses = GATEWAY_READY_STATUSES if name == "gateway" else SERVICE_READY_STATUSES
        ready_url = base_url(host, port) + _READY_PATHS[name]
        argv = (python, "-m", _MODULES[name])
        specs.append(ChildSpec(name, argv, env, port, ready_url, statuses))
    return specs


def port_problems(host: str, ports: Ports) -> list[str]:
    """Readable reasons the stack cannot start on these ports; empty when all are usable."""
    named = ports.named()
    problems = []
    seen: dict[int, str] = {}
    for name, port in named.items():
        if port in seen:
            problems.append(f"port {port} is given to both {seen[port]} and {name}")
            continue
        seen[port] = name
        if not port_is_free(host, port):
            problems.append(
                f"port {port} ({name}) on {host} is already in use; stop whatever listens "
                f"there or choose another port (--{name}-port / ION_RUN_{name.upper()}_PORT)"
            )
    return problems


def port_is_free(host: str, port: int) -> bool:
    """True if a server could bind host:port now (same SO_REUSEADDR choice as uvicorn)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
