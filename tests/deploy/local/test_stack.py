"""The pure half of `ion-run`: each child's env and command, tokens, store URL, port checks."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from deploy.local.stack import (
    LOCAL_RATE_LIMIT,
    Ports,
    Tokens,
    build_specs,
    child_env,
    port_is_free,
    port_problems,
    resolve_tokens,
    store_url,
)
from tests.support.servers import free_port

PORTS = Ports(gateway=9000, legacy=9001, canary=9002)
TOKENS = Tokens(gateway="gw-token", canary="cn-token")
RUN_DIR = Path(".run")


def env_for(name: str, environ: dict[str, str]) -> dict[str, str]:
    return child_env(name, environ, host="127.0.0.1", ports=PORTS, tokens=TOKENS, run_dir=RUN_DIR)


@pytest.mark.parametrize(
    ("name", "environ", "expected"),
    [
        # ion-run owns the ports, so host/port are always its own choice
        ("legacy", {"LEGACY_PORT": "1"}, {"LEGACY_HOST": "127.0.0.1", "LEGACY_PORT": "9001"}),
        ("canary", {}, {"CANARY_PORT": "9002", "CANARY_ADMIN_TOKEN": "cn-token"}),
        ("gateway", {}, {"GATEWAY_PORT": "9000", "GATEWAY_ADMIN_TOKEN": "gw-token"}),
        # the gateway's upstreams follow the ports ion-run chose
        (
            "gateway",
            {},
            {
                "GATEWAY_LEGACY_URL": "http://127.0.0.1:9001",
                "GATEWAY_CANARY_URL": "http://127.0.0.1:9002",
            },
        ),
        # a local stack gets a high rate limit unless the user chose one
        ("legacy", {}, {"LEGACY_RATE_LIMIT": LOCAL_RATE_LIMIT}),
        ("canary", {"CANARY_RATE_LIMIT": "30/minute"}, {"CANARY_RATE_LIMIT": "30/minute"}),
        # settings given in the environment reach the services unchanged
        ("canary", {"CANARY_FAULT_ERROR_RATE": "0.5"}, {"CANARY_FAULT_ERROR_RATE": "0.5"}),
        ("gateway", {"ROLLOUT_PROFILE": "demo"}, {"ROLLOUT_PROFILE": "demo"}),
        ("legacy", {"PATH": "/bin"}, {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}),
        # the embedded store lives in the run directory unless the user points elsewhere
        ("gateway", {}, {"ROLLOUT_STORE_URL": "sqlite:///.run/rollout.db"}),
        ("gateway", {"ROLLOUT_STORE_URL": "redis://x"}, {"ROLLOUT_STORE_URL": "redis://x"}),
    ],
)
def test_child_env(name: str, environ: dict[str, str], expected: dict[str, str]) -> None:
    env = env_for(name, environ)
    assert {key: env.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("name", "absent"),
    [
        ("legacy", "GATEWAY_ADMIN_TOKEN"),  # the gateway's token is not handed to upstreams
        ("legacy", "CANARY_ADMIN_TOKEN"),
        ("legacy", "ROLLOUT_STORE_URL"),
        ("canary", "GATEWAY_LEGACY_URL"),
    ],
)
def test_child_env_keeps_secrets_where_they_belong(name: str, absent: str) -> None:
    assert absent not in env_for(name, {})


def test_build_specs_starts_upstreams_before_the_gateway() -> None:
    specs = build_specs(
        {}, host="127.0.0.1", ports=PORTS, tokens=TOKENS, run_dir=RUN_DIR, python="/py"
    )
    assert [(s.name, s.argv, s.port, s.ready_url) for s in specs] == [
        ("legacy", ("/py", "-m", "legacy_service"), 9001, "http://127.0.0.1:9001/health"),
        ("canary", ("/py", "-m", "canary_service"), 9002, "http://127.0.0.1:9002/health"),
        ("gateway", ("/py", "-m", "gateway"), 9000, "http://127.0.0.1:9000/readyz"),
    ]
    # a rate-limited /health (429) still proves a service is up; the gateway must say 200
    assert 429 in specs[0].ready_statuses
    assert specs[2].ready_statuses == frozenset({200})


@pytest.mark.parametrize(
    ("environ", "expected", "generated"),
    [
        ({}, Tokens("new-24", "new-24", ("GATEWAY_ADMIN_TOKEN", "CANARY_ADMIN_TOKEN")), 2),
        ({"GATEWAY_ADMIN_TOKEN": "mine"}, Tokens("mine", "new-24", ("CANARY_ADMIN_TOKEN",)), 1),
        ({"GATEWAY_ADMIN_TOKEN": "a", "CANARY_ADMIN_TOKEN": "b"}, Tokens("a", "b", ()), 0),
        (
            {"GATEWAY_ADMIN_TOKEN": ""},
            Tokens("new-24", "new-24", ("GATEWAY_ADMIN_TOKEN", "CANARY_ADMIN_TOKEN")),
            2,
        ),
    ],
)
def test_resolve_tokens(environ: dict[str, str], expected: Tokens, generated: int) -> None:
    calls = []

    def make(n: int) -> str:
        calls.append(n)
        return f"new-{n}"

    assert resolve_tokens(environ, make) == expected
    assert len(calls) == generated


def test_store_url_in_an_absolute_run_dir(tmp_path: Path) -> None:
    assert store_url({}, tmp_path) == f"sqlite:///{tmp_path}/rollout.db"


def test_port_problems_names_a_port_in_use() -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        assert not port_is_free("127.0.0.1", busy)
        problems = port_problems("127.0.0.1", Ports(gateway=busy, legacy=0, canary=0))
    assert any(f"port {busy} (gateway)" in p and "already in use" in p for p in problems)


def test_port_problems_rejects_a_port_given_twice() -> None:
    port = free_port()
    problems = port_problems("127.0.0.1", Ports(gateway=port, legacy=port, canary=free_port()))
    assert problems == [f"port {port} is given to both legacy and gateway"]


def test_free_ports_have_no_problems() -> None:
    ports = Ports(gateway=free_port(), legacy=free_port(), canary=free_port())
    assert len(set(ports.named().values())) == 3
    assert port_problems("127.0.0.1", ports) == []
