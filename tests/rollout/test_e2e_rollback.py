"""End to end: real legacy and canary services, the real gateway with the rollout extension.

The canary fails half its business requests (`CANARY_FAULT_ERROR_RATE=0.5`); with the demo
profile the judge inside the gateway must roll back by itself, after which every request goes
to legacy and the history holds the reason and the evidence.
"""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client import CollectorRegistry

from canary_service.app import create_app as create_canary
from canary_service.settings import CanarySettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from legacy_service.app import create_app as create_legacy
from legacy_service.settings import LegacySettings
from rollout.extension import GatewayRollout
from rollout.settings import RolloutSettings
from tests.support.servers import serve_app, wait_until

TOKEN = "e2e-admin-token"
CANARY_USERS = ("user_19", "user_33", "user_54")  # buckets 0, 1, 4: on the canary at 5 %
LEGACY_USERS = ("alice", "bob")  # buckets 70, 20


def rollout_settings(tmp_path) -> RolloutSettings:
    return RolloutSettings(
        profile="demo",
        store_url=f"sqlite:///{tmp_path}/e2e.db",
        poll_interval_seconds=0.1,
        flush_interval_seconds=0.1,
        settle_seconds=0.3,
    )


@pytest.mark.slow
def test_canary_failing_half_its_requests_is_rolled_back_by_the_controller(tmp_path):
    legacy = create_legacy(LegacySettings(environment="test"), registry=CollectorRegistry())
    canary = create_canary(
        CanarySettings(fault_error_rate=0.5, fault_seed=7, rate_limit="1000/second"),
        registry=CollectorRegistry(),
    )
    with serve_app(legacy) as legacy_url, serve_app(canary) as canary_url:
        gateway_settings = GatewaySettings(
            legacy_url=legacy_url, canary_url=canary_url, admin_token=TOKEN
        )
        registry = CollectorRegistry()
        rollout = GatewayRollout(rollout_settings(tmp_path), admin_token=TOKEN, registry=registry)
        app = create_gateway(gateway_settings, registry=registry, rollout=rollout)
        with serve_app(app) as url, httpx.Client(base_url=url, timeout=10.0) as client:
            run_scenario(client)


def run_scenario(client: httpx.Client) -> None:
    admin = {"authorization": f"Bearer {TOKEN}"}
    started = client.post("/admin/rollout/start", headers=admin)
    assert started.status_code == 200 and started.json()["percent"] == 5

    first_failure, deadline, status = None, time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        for user in (*CANARY_USERS, *LEGACY_USERS):
            response = chat(client, user)
            if response.headers["x-canary-target"] == "canary" and response.status_code >= 500:
                first_failure = first_failure or time.time()
        status = client.get("/admin/rollout", headers=admin).json()
        if status["state"] == "rolled_back":
            break
    assert status["state"] == "rolled_back", f"no automatic rollback: {status}"
    assert first_failure is not None

    # the gateway polls within a second; after that every request goes to legacy
    wait_for_legacy(client)
    for user in CANARY_USERS * 5:
        response = chat(client, user)
        assert (response.status_code, response.headers["x-canary-target"]) == (200, "legacy")

    history = client.get("/admin/rollout/history", headers=admin).json()["history"]
    rollback = history[0]
    assert (rollback["verb"], rollback["actor"]) == ("auto_rollback", "controller")
    assert (rollback["from_percent"], rollback["to_percent"]) == (5, 0)
    assert "error_rate" in rollback["reason"] and "E=" in rollback["reason"]
    numbers = {m["metric"]: m for m in rollback["details"]["verdict"]["metrics"]}
    breached = [m for m in numbers.values() if m["verdict"] == "breach"]
    assert breached and all(m["statistic"] >= m["threshold"] for m in breached)
    assert 0.2 <= numbers["guard_error_rate"]["canary_rate"] <= 0.8
    assert numbers["guard_error_rate"]["canary_requests"] >= 5
    print(f"\nfirst failing canary request -> rollback: {rollback['at'] - first_failure:.2f} s")
    verdict = status["last_verdict"]
    assert verdict["verdict"] == "breach"


def chat(client: httpx.Client, user: str) -> httpx.Response:
    return client.post("/chat", json={"message": "hello there", "user_id": user})


def wait_for_legacy(client: httpx.Client, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while chat(client, CANARY_USERS[0]).headers["x-canary-target"] != "legacy":
        assert time.monotonic() < deadline, "gateway still routes to the canary"


@pytest.mark.slow
def test_two_gateways_on_one_store_share_state_and_one_controller(tmp_path):
    legacy = create_legacy(LegacySettings(environment="test"), registry=CollectorRegistry())
    canary = create_canary(CanarySettings(rate_limit="1000/second"), registry=CollectorRegistry())
    with serve_app(legacy) as legacy_url, serve_app(canary) as canary_url:
        settings = GatewaySettings(legacy_url=legacy_url, canary_url=canary_url, admin_token=TOKEN)

        def gateway(name: str):
            registry = CollectorRegistry()
            rollout = GatewayRollout(
                rollout_settings(tmp_path), admin_token=TOKEN, registry=registry, process_id=name
            )
            return create_gateway(settings, registry=registry, rollout=rollout)

        with serve_app(gateway("gw-a")) as a, serve_app(gateway("gw-b")) as b:
            admin = {"authorization": f"Bearer {TOKEN}"}
            assert httpx.post(f"{a}/admin/rollout/start", headers=admin).status_code == 200
            changed = time.monotonic()
            wait_until(lambda: routing(b)["percent"] == 5, 2.0, "gateway b to see 5 %")
            assert time.monotonic() - changed < 1.5
            with httpx.Client(base_url=b) as client_b:
                assert chat(client_b, "user_19").headers["x-canary-target"] == "canary"
            wait_until(lambda: {routing(a)["controller"], routing(b)["controller"]}
                       == {"leader", "standby"}, 5.0, "one leader")  # fmt: skip
            second = httpx.post(f"{b}/admin/rollout/start", headers=admin)
            assert second.status_code == 409 and second.json()["state"] == "progressing"


def routing(base_url: str) -> dict:
    return httpx.get(f"{base_url}/readyz").json()["checks"]["routing"]
