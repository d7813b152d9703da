"""Runtime fault changes through `/admin/faults`: auth, validation, effect, logging."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from structlog.testing import capture_logs

from tests.canary_service.conftest import ADMIN, ADMIN_TOKEN, SMOKE_BODY, running


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """One server for the refusal tests: a refused change leaves no state behind."""
    with running(admin_token=ADMIN_TOKEN) as url:
        yield url


def test_off_without_a_token() -> None:
    with running() as url:
        get = httpx.get(f"{url}/admin/faults", headers=ADMIN)
        post = httpx.post(f"{url}/admin/faults", json={"error_rate": 1}, headers=ADMIN)
    assert get.status_code == post.status_code == 404
    assert post.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}],
    ids=["missing", "wrong token", "no scheme"],
)
def test_wrong_token_is_401_json(guarded: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{guarded}/admin/faults", json={"error_rate": 1}, headers=headers)
    chat = httpx.post(f"{guarded}/chat", json=SMOKE_BODY)
    assert response.status_code == 401
    assert response.json()["status_code"] == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert chat.status_code == 200, "a refused change changes nothing"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"jitter_ms": "slow"}, "jitter_ms"),
        ({"error_rte": 0.1}, "error_rte"),
    ],
)
def test_bad_body_is_422_naming_the_field(guarded: str, body: dict, field: str) -> None:
    response = httpx.post(f"{guarded}/admin/faults", json=body, headers=ADMIN)
    assert httpx.get(f"{guarded}/admin/faults", headers=ADMIN).json()["active"] is False
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_change_applies_to_the_next_request_and_is_logged() -> None:
    with running(admin_token=ADMIN_TOKEN) as url, httpx.Client(base_url=url) as client:
        assert client.post("/chat", json=SMOKE_BODY).status_code == 200
        with capture_logs() as logs:
            set_response = client.post(
                "/admin/faults", json={"error_rate": 1.0, "seed": 3}, headers=ADMIN
            )
        failing = client.post("/chat", json=SMOKE_BODY).status_code
        view = client.get("/admin/faults", headers=ADMIN).json()
        client.post("/admin/faults", json={}, headers=ADMIN)
        recovered = client.post("/chat", json=SMOKE_BODY).status_code
    assert set_response.status_code == 200
    assert set_response.json()["faults"]["error_rate"] == 1.0
    assert failing in (500, 503)
    assert view["active"] is True and view["requests_since_change"] == 1
    assert recovered == 200
    changed = [e for e in logs if e["event"] == "canary.faults_changed"]
    assert changed and changed[0]["current"]["error_rate"] == 1.0
    assert changed[0]["previous"]["error_rate"] == 0.0


def test_runtime_rate_is_exact_after_change() -> None:
    with running(admin_token=ADMIN_TOKEN) as url, httpx.Client(base_url=url) as client:
        client.post("/admin/faults", json={"error_rate": 0.1, "seed": 5}, headers=ADMIN)
        codes = [client.post("/chat", json=SMOKE_BODY).status_code for _ in range(50)]
    assert sum(code >= 500 for code in codes) == 5
