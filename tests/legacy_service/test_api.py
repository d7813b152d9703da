"""The original API tests (TAPI) against a real legacy server on loopback."""

from __future__ import annotations

import io
import json

import pytest

from common.logging import configure_logging
from legacy_service.model import MOCK_RESPONSE
from legacy_service.recommend import LEGACY_ALGORITHM

CHAT_EXAMPLE = {"message": "이거 진짜 답답해요! 왜 안 되는 거죠?", "user_id": "test-user-123"}


def test_root_exact_body(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "service": "내다AI Ion API",
        "version": "1.0.0",
        "status": "running",
        "docs": "/docs",
        "health": "/health",
    }


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "version": "1.0.0",
        "pipeline_ready": True,
        "redis_cache": {"enabled": False, "connected": False},
    }


def test_docs_and_openapi_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "내다AI Ion API"
    assert {"/", "/health", "/chat", "/api/v2/recommend/personalized"} <= set(spec["paths"])
    assert "/metrics" not in spec["paths"]


def test_chat_success_and_schema(client):
    response = client.post("/chat", json=CHAT_EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"content", "persona_used", "resonance_key", "confidence", "metadata"}
    assert body["content"] == MOCK_RESPONSE
    # §5: this exact input ran end-to-end through /chat in the original.
    assert (body["persona_used"], body["resonance_key"], body["confidence"]) == (
        "Elro",
        "curious-burst-inquiry",
        0.8,
    )
    assert 0.0 <= body["confidence"] <= 1.0


def test_chat_metadata_structure(client):
    meta = client.post("/chat", json=CHAT_EXAMPLE).json()["metadata"]
    assert {"rhythm", "tone", "routing"} <= set(meta)
    assert set(meta["rhythm"]) == {"pace", "avg_length", "punctuation_density"}
    assert meta["rhythm"]["pace"] in {"fast", "medium", "slow"}
    assert set(meta["tone"]) == {"primary", "confidence", "secondary"}
    assert set(meta["routing"]) == {"secondary_persona", "reasoning"}
    assert "감정 톤=curious" in meta["routing"]["reasoning"]


@pytest.mark.parametrize(
    ("message", "persona", "confidence"),
    [
        ("빨리 해결해야 해요! 급합니다!", "Nana", 1.0),
        ("왜 이게 안 되는지 모르겠어요. 답답해요.", "Lua", 0.9),
        ("코드 리뷰를 진행하겠습니다.", "Elro", 1.0),
    ],
)
def test_persona_variety(client, message, persona, confidence):
    body = client.post("/chat", json={"message": message, "user_id": "u1"}).json()
    assert (body["persona_used"], body["confidence"]) == (persona, confidence)


def test_inexact_confidence_reaches_the_client_exactly(client):
    # urgent (빨리) + medium pace -> urgent-flowing-statement -> Nana 0.0+0.5+0.2+0.2
    response = client.post("/chat", json={"message": "빨리 해주세요", "user_id": "u"})
    assert response.json()["resonance_key"] == "urgent-flowing-statement"
    assert '"confidence":0.8999999999999999' in response.text


def test_chat_strips_and_ignores_extra_fields(client):
    body = {"message": "  안녕하세요  ", "user_id": "  u  ", "extra": 1}
    response = client.post("/chat", json=body)
    assert response.status_code == 200
    assert response.json()["resonance_key"] == "calm-flowing-statement"


def test_message_of_exactly_1000_chars_is_accepted(client):
    assert client.post("/chat", json={"message": "가" * 1000, "user_id": "u"}).status_code == 200


def test_recommend_legacy_answer(client):
    body = {"user_id": "probe-1", "query": "Explain AI", "options": {"style": "concise"}}
    response = client.post("/api/v2/recommend/personalized", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["primary_persona"] == "Lua"
    assert answer["confidence"] == 0.82
    assert answer["all_scores"] == {"Lua": 0.82, "Elro": 0.45, "Riri": 0.38, "Nana": 0.35}
    assert [r["persona"] for r in answer["ranked_recommendations"]] == ["Lua", "Elro", "Riri"]
    assert answer["metadata"]["algorithm"] == LEGACY_ALGORITHM


def test_recommend_requires_query_and_user(client):
    response = client.post("/api/v2/recommend/personalized", json={"user_id": "u"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "query"]


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "x-xss-protection": "1; mode=block",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "content-security-policy": "default-src 'self'",
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/", {}),
        ("GET", "/missing", {}),
        ("POST", "/chat", {"json": {}}),
        ("POST", "/chat", {"content": b"x" * 2_000_000}),
    ],
)
def test_security_headers_on_every_response(client, method, path, kwargs):
    response = client.request(method, path, **kwargs)
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_cors_preflight_allows_configured_headers_only(client):
    preflight = {
        "Origin": "https://example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    response = client.options("/chat", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    # why: X-User-Id was never a CORS-allowed header in the original.
    refused = client.options(
        "/chat", headers={**preflight, "Access-Control-Request-Headers": "x-user-id"}
    )
    assert refused.status_code == 400


def test_metrics_count_requests_by_path_and_status(client):
    client.post("/chat", json=CHAT_EXAMPLE)
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert 'legacy_http_requests_total{method="POST",path="/chat",status="200"}' in text
    assert 'legacy_http_requests_total{method="GET",path="other",status="404"}' in text
    assert 'legacy_chat_persona_total{persona="Elro"}' in text
    assert "legacy_http_request_duration_seconds_bucket" in text


def test_one_json_log_line_per_request(client):
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        client.get("/", headers={"X-Forwarded-For": "198.51.100.7"})
        client.post("/chat", json={"message": " ", "user_id": "u"})
    finally:
        configure_logging("INFO")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["event"] == "legacy.request"]
    assert len(requests) == 2
    line = requests[0]
    assert line["severity"] == "INFO"
    assert (line["method"], line["path"], line["status_code"]) == ("GET", "/", 200)
    assert line["client_ip"] == "198.51.100.7"  # loopback peer is a trusted proxy by default
    assert isinstance(line["duration_ms"], float)
    # bad input is logged with what was wrong (not the text itself) and its status
    (invalid,) = [line for line in lines if line["event"] == "legacy.invalid_request"]
    assert invalid["errors"] == [{"type": "value_error", "loc": ["body", "message"]}]
    assert (requests[1]["status_code"], requests[1]["severity"]) == (422, "WARNING")
