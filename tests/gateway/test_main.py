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
from tests.support.servers import free_port, serve_app, wait_http_ok, wait_until


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


@pytest.mark.slow
def test_sigterm_loses_no_access_line(tmp_path):
    """Access lines are written in batches; SIGTERM (uvicorn's graceful shutdown: in-flight
    requests finish, then the lifespan ends) must still leave every request's line in the log,
    including those of requests that finished after the signal."""
    import signal
    import threading

    legacy = Upstream("legacy")
    with serve_app(legacy.app) as legacy_url:
        port = free_port()
        env = gateway_env(
            GATEWAY_PORT=str(port), GATEWAY_LEGACY_URL=legacy_url, GATEWAY_CANARY_URL=legacy_url,
            GATEWAY_PERCENT_SOURCE="static",
        )  # fmt: skip
        log = tmp_path / "gateway.log"
        with log.open("wb") as out, (tmp_path / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
                                    stdout=out, stderr=err)  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            statuses: dict[str, int] = {}

            def slow(request_id: str) -> None:
                headers = {"x-request-id": request_id}
                statuses[request_id] = httpx.get(base + "/slow?s=1", headers=headers).status_code

            try:
                wait_http_ok(base + "/readyz")
                with httpx.Client() as client:
                    for i in range(40):
                        client.get(base + "/x", headers={"x-request-id": f"fast-{i}"})
                hits = legacy.hits
                threads = [threading.Thread(target=slow, args=(f"slow-{i}",)) for i in range(4)]
                for thread in threads:
                    thread.start()
                wait_until(lambda: legacy.hits == hits + 4, 10.0, "the slow requests upstream")
                proc.send_signal(signal.SIGTERM)
                for thread in threads:
                    thread.join(15)
                proc.wait(15)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert statuses == {f"slow-{i}": 200 for i in range(4)}  # finished after the signal
    events = [json.loads(line) for line in log.read_text().splitlines()]
    logged = {e["request_id"] for e in events if e["event"] == "gateway.request"}
    assert logged == {f"fast-{i}" for i in range(40)} | {f"slow-{i}" for i in range(4)}
    assert events[-1]["event"] == "gateway.stopped"
