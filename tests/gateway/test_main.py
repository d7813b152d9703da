"""`python -m gateway` as a subprocess: proxies to the services in its env; bad env stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.gateway.upstreams import Upstream
from tests.support.rawhttp import exchange
from tests.support.servers import free_port, serve_app, wait_http_ok


@pytest.mark.slow
def test_python_m_gateway_proxies_to_the_services_in_its_env(tmp_path):
    legacy, canary = Upstream("legacy"), Upstream("canary")
    with serve_app(legacy.app) as legacy_url, serve_app(canary.app) as canary_url:
        port = free_port()
        env = {
            **os.environ,
            "GATEWAY_PORT": str(port),
            "GATEWAY_LEGACY_URL": legacy_url,
            "GATEWAY_CANARY_URL": canary_url,
            "GATEWAY_PERCENT_SOURCE": "static",
            "GATEWAY_CANARY_PERCENT": "5",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http_ok(base + "/readyz")
            sides = {
                uid: httpx.get(base + "/x", headers={"X-User-Id": uid}).json()["name"]
                for uid in ("user_19", "user_33", "alice", "bob")
            }
            assert sides == {"user_19": "canary", "user_33": "canary", "alice": "legacy",
                             "bob": "legacy"}  # fmt: skip
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=15)
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
        assert proc.returncode in (0, -15)
        events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        assert events[-1]["event"] == "gateway.stopped"
        requests = [e for e in events if e["event"] == "gateway.request"]
        assert [e["target"] for e in requests] == ["canary", "canary", "legacy", "legacy"]
        assert {e["severity"] for e in requests} == {"INFO"}
        assert [e["bucket"] for e in requests] == [0, 1, 70, 20]


@pytest.mark.parametrize(
    ("var", "value"),
    [("GATEWAY_PORT", "eighty"), ("GATEWAY_CANARY_PERCENT", "101"),
     ("GATEWAY_LEGACY_URL", "ftp://x"), ("GATEWAY_PINNED_PATHS", '{"/a": "blue"}'),
     ("GATEWAY_PINNED_PATHS", "{not json"), ("GATEWAY_ALLOW_USERS", "[broken"),
     ("GATEWAY_MAX_HEAD_BYTES", "4096"), ("GATEWAY_HEADER_TIMEOUT_SECONDS", "0")],
)  # fmt: skip
def test_a_bad_setting_stops_start_up_naming_the_variable(var, value):
    env = {**os.environ, var: value, "GATEWAY_PERCENT_SOURCE": "static"}
    proc = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, capture_output=True, timeout=30
    )
    assert proc.returncode == 2
    assert var in proc.stderr.decode()


def gateway_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "ROLLOUT_"))}
    return {**env, **extra}


@pytest.mark.parametrize(
    "extra",
    [{}, {"GATEWAY_PERCENT_SOURCE": "store"}],
    ids=["default source", "explicit store"],
)
def test_a_percent_the_store_would_ignore_stops_start_up_naming_both_variables(extra):
    """The issue's `GATEWAY_CANARY_PERCENT=5 python -m gateway`: exit 2, never 0 % in silence."""
    env = gateway_env(GATEWAY_CANARY_PERCENT="5", **extra)
    proc = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "GATEWAY_CANARY_PERCENT is only used with GATEWAY_PERCENT_SOURCE=static" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_rejected_admin_token_is_named_but_never_shown():
    env = gateway_env(GATEWAY_ADMIN_TOKEN="t2")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "GATEWAY_ADMIN_TOKEN" in proc.stderr and "a secret of 2 chars" in proc.stderr
    assert "'t2'" not in proc.stderr and "t2" not in proc.stderr.replace("GATEWAY_", "")


def test_old_and_new_timeout_names_with_different_values_stop_start_up():
    env = gateway_env(GATEWAY_READ_TIMEOUT_S="5", GATEWAY_READ_TIMEOUT_SECONDS="6")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "GATEWAY_READ_TIMEOUT_S (deprecated) and GATEWAY_READ_TIMEOUT_SECONDS" in proc.stderr


@pytest.mark.slow
def test_an_old_timeout_name_still_starts_the_gateway_with_a_warning(tmp_path):
    port = free_port()
    env = gateway_env(
        GATEWAY_PORT=str(port), GATEWAY_PERCENT_SOURCE="static", GATEWAY_CONNECT_TIMEOUT_S="1.5"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert (
        "warning: GATEWAY_CONNECT_TIMEOUT_S is deprecated and goes away in the next release; "
        "set GATEWAY_CONNECT_TIMEOUT_SECONDS instead"
    ) in err


@pytest.mark.slow
def test_python_m_gateway_serves_with_the_bounded_protocol_in_every_worker(tmp_path):
    """server.run's protocol reaches each spawned worker (it must pickle) and refuses there."""
    legacy = Upstream("legacy")
    with serve_app(legacy.app) as legacy_url:
        port = free_port()
        env = {**os.environ, "GATEWAY_PORT": str(port), "GATEWAY_LEGACY_URL": legacy_url,
               "GATEWAY_CANARY_URL": legacy_url, "GATEWAY_PERCENT_SOURCE": "static",
               "GATEWAY_WORKERS": "2", "GATEWAY_MAX_HEADERS": "5"}  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http_ok(base + "/readyz")
            many = "".join(f"X-H{i}: v\r\n" for i in range(5))
            for _ in range(4):  # new connections: spread over both workers
                answer = exchange(base, f"GET /x HTTP/1.1\r\nHost: gw\r\n{many}\r\n".encode())
                assert (answer.status, answer.json()["code"]) == (431, "too_many_headers")
            assert legacy.hits == 0
        finally:
            proc.terminate()
            proc.wait(timeout=15)
