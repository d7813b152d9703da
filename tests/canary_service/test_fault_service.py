"""Fault modes through a real server: exact seeded rates, added latency, invalid mode, and the
endpoints faults must never touch."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.canary_service.conftest import SMOKE_BODY, running


def statuses(url: str, n: int, path: str = "/chat") -> list[int]:
    with httpx.Client(base_url=url) as client:
        return [client.post(path, json=SMOKE_BODY).status_code for _ in range(n)]


@pytest.mark.parametrize(("rate", "n", "expected"), [(0.05, 200, 10), (0.25, 100, 25)])
def test_error_rate_is_exact_over_many_requests(rate: float, n: int, expected: int) -> None:
    with running(fault_error_rate=rate) as url:
        seen = statuses(url, n)
    errors = [s for s in seen if s >= 500]
    assert len(errors) == expected
    assert set(errors) <= {500, 503}
    assert seen.count(200) == n - expected


def test_same_seed_same_sequence() -> None:
    runs = []
    for _ in range(2):
        with running(seed=11, fault_error_rate=0.3) as url:
            runs.append(statuses(url, 40))
    assert runs[0] == runs[1]


def test_fault_body_is_json_and_marked() -> None:
    with running(fault_error_rate=1.0) as url:
        response = httpx.post(f"{url}/api/v2/recommend/personalized", json={"user_id": "u"})
    assert response.status_code in (500, 503)
    assert response.json()["fault"] == "error"
    assert response.headers["x-canary-fault"] == "error"


def test_latency_is_added() -> None:
    with running(fault_latency_ms=300) as url, httpx.Client(base_url=url) as client:
        started = time.perf_counter()
        response = client.post("/chat", json=SMOKE_BODY)
        elapsed = time.perf_counter() - started
        metrics = client.get("/metrics").text
    assert response.status_code == 200
    assert elapsed >= 0.3, "the fault sleeps at least latency_ms before answering"
    assert 'canary_faults_injected_total{kind="latency"} 1.0' in metrics


def test_invalid_mode_rejects_valid_requests() -> None:
    with running(fault_invalid_response=True) as url:
        response = httpx.post(f"{url}/chat", json=SMOKE_BODY)
    assert response.status_code == 400
    assert response.json()["fault"] == "invalid_response"


def test_faults_never_touch_health_metrics_root_or_admin() -> None:
    faulty = {"fault_error_rate": 1.0, "fault_invalid_response": True, "admin_token": "t"}
    with running(**faulty) as url, httpx.Client(base_url=url) as client:
        untouched = [
            client.get("/health").status_code,
            client.get("/metrics").status_code,
            client.get("/").status_code,
            client.get("/admin/faults", headers={"Authorization": "Bearer t"}).status_code,
        ]
        faulted = client.post("/chat", json=SMOKE_BODY).status_code
    assert untouched == [200, 200, 200, 200]
    assert faulted == 400
