"""The canary through a real server: smoke test, info endpoints, cross-cutting middleware."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from canary_service.responder import MOCK_SUFFIX
from tests.canary_service.conftest import SMOKE_BODY


def test_original_canary_smoke_test(serve) -> None:
    """W3CL/W3D1: `success: true`, confidence > 80%, no error."""
    with serve() as url:
        response = httpx.post(f"{url}/chat", json=SMOKE_BODY)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["confidence"] > 0.8
    assert "error" not in body["metadata"]
    assert body["content"].startswith("✒️ 세나: Python의 장점을 간단히 설명해주세요")
    assert body["content"].endswith(MOCK_SUFFIX)


def test_chat_carries_the_legacy_fields_and_the_lumen_persona(serve) -> None:
    with serve() as url:
        body = httpx.post(
            f"{url}/chat", json={"message": "창의적인 아이디어가 필요해!", "user_id": "u1"}
        ).json()
    assert set(body) >= {"content", "persona_used", "resonance_key", "confidence", "metadata"}
    assert body["persona_used"] == "Lua"
    assert body["lumen_persona"] == {
        "name": "루아",
        "type": "감응형",
        "emoji": "🌙",
        "specialty": "직감, 창의",
        "key": "moon",
    }
    assert body["resonance_key"].count("-") == 2
    assert {"rhythm", "tone", "routing", "lumen"} <= set(body["metadata"])


def test_explicit_persona_is_honoured(serve) -> None:
    with serve() as url:
        body = httpx.post(
            f"{url}/chat", json={"message": "안녕", "user_id": "u", "persona": "earth"}
        ).json()
    assert body["lumen_persona"]["key"] == "earth" and body["persona_used"] == "Riri"


def test_root_and_health_shapes(serve) -> None:
    with serve() as url:
        root = httpx.get(f"{url}/").json()
        health = httpx.get(f"{url}/health").json()
    assert root["service"] == "내다AI Ion API" and root["status"] == "running"
    assert root["health"] == "/health" and root["version"] == "1.0.0"
    assert health["status"] == "healthy" and health["pipeline_ready"] is True
    assert health["version"] == "1.0.0" and health["model"] == "offline-mock"


def test_security_headers_and_cors(serve) -> None:
    with serve() as url:
        response = httpx.get(f"{url}/health", headers={"Origin": "https://example.com"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["access-control-allow-origin"] == "*"


def test_metrics_count_requests_by_path(serve) -> None:
    with serve() as url:
        httpx.post(f"{url}/chat", json=SMOKE_BODY)
        text = httpx.get(f"{url}/metrics").text
    assert 'canary_requests_total{path="/chat",status_class="2xx"} 1.0' in text
    assert 'canary_model_answers_total{outcome="success"} 1.0' in text
    assert "test-canary-001" not in text


def test_body_over_the_limit_is_413_json(serve) -> None:
    with serve(max_body_bytes=100) as url:
        response = httpx.post(f"{url}/chat", json={"message": "x" * 200, "user_id": "u"})
        text = httpx.get(f"{url}/metrics").text
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert 'canary_rejected_total{reason="body_too_large"} 1.0' in text


def test_rate_limit_is_per_client_and_answers_429(serve) -> None:
    with serve(rate_limit="3/minute") as url:
        statuses = [httpx.get(f"{url}/health").status_code for _ in range(4)]
        other = httpx.get(f"{url}/health", headers={"X-Forwarded-For": "203.0.113.9"})
        limited = httpx.get(f"{url}/health")
    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200, "a different client behind the trusted proxy has its own"
    assert limited.json() == {"error": "Rate limit exceeded: 3 per 1 minute"}


def test_unknown_route_is_404_json(serve) -> None:
    with serve() as url:
        response = httpx.get(f"{url}/nope")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_request_and_error_logs_carry_the_canary_name(serve) -> None:
    """The shared stack and error handlers log as `canary.*` here, never as `legacy.*`."""
    with serve() as url, capture_logs() as logs:
        response = httpx.post(f"{url}/chat", json={"user_id": "u1"})
    assert response.status_code == 422
    events = {entry["event"] for entry in logs}
    assert {"canary.invalid_request", "canary.request"} <= events
    assert not any(event.startswith("legacy.") for event in events)
