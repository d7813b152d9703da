"""The real Gemini client inside a real canary, Google's endpoint mocked by respx: every failure
mode gives the fallback answer (/chat 200 success false; recommend -> legacy answer)."""

from __future__ import annotations

import httpx
import pytest
import respx

from canary_service.gemini import GeminiClient
from legacy_service.recommend import legacy_recommendation
from tests.canary_service.conftest import SMOKE_BODY, running

BASE = "https://gemini.test"
URL = f"{BASE}/v1beta/models/gemini-2.0-flash:generateContent"
OK = {"candidates": [{"content": {"parts": [{"text": "파이썬은 읽기 쉽습니다."}]}}]}

FAILURES = [
    pytest.param(httpx.Response(429, json={"error": {"status": "RESOURCE_EXHAUSTED"}}), id="429"),
    pytest.param(httpx.Response(500, text="internal"), id="500"),
    pytest.param(httpx.ReadTimeout("timed out"), id="timeout"),
    pytest.param(httpx.Response(200, json={"candidates": []}), id="malformed"),
]


def gemini_with(outcome) -> tuple[GeminiClient, respx.Route]:
    router = respx.MockRouter()
    route = router.post(URL)
    route.mock(side_effect=outcome) if isinstance(outcome, Exception) else route.mock(outcome)
    transport = httpx.MockTransport(router.async_handler)
    return GeminiClient("k", base_url=BASE, timeout_s=1.0, transport=transport), route


def test_gemini_success_answers_with_its_text() -> None:
    model, route = gemini_with(httpx.Response(200, json=OK))
    with running(model=model) as url:
        body = httpx.post(f"{url}/chat", json=SMOKE_BODY).json()
        health = httpx.get(f"{url}/health").json()
    assert body["success"] is True and body["confidence"] > 0.8
    assert body["content"] == "파이썬은 읽기 쉽습니다."
    assert body["metadata"]["lumen"] == {
        "sources": ["Google AI Studio"],
        "model": "gemini-2.0-flash",
    }
    assert health["model"] == "gemini-2.0-flash"
    assert "Python의 장점" in route.calls.last.request.content.decode()


@pytest.mark.parametrize("outcome", FAILURES)
def test_chat_falls_back_on_model_failure(outcome) -> None:
    model, route = gemini_with(outcome)
    with running(model=model) as url:
        response = httpx.post(f"{url}/chat", json=SMOKE_BODY)
        metrics = httpx.get(f"{url}/metrics").text
    assert route.called
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["confidence"] == 0.0
    assert body["content"] == "✒️ 세나: 죄송합니다. 연결에 문제가 있었습니다. 다시 시도해주세요."
    assert body["metadata"]["error_type"].startswith("Gemini")
    assert body["metadata"]["lumen"]["sources"] == ["fallback"]
    assert 'canary_model_answers_total{outcome="fallback"} 1.0' in metrics


@pytest.mark.parametrize("outcome", FAILURES)
def test_recommend_falls_back_to_the_legacy_answer(outcome) -> None:
    model, _ = gemini_with(outcome)
    with running(model=model) as url:
        body = httpx.post(
            f"{url}/api/v2/recommend/personalized", json={"user_id": "u", "query": "창의"}
        ).json()
    expected = legacy_recommendation()
    expected["metadata"]["fallback_reason"] = "lumen_unavailable"
    assert body == expected


def test_stream_ends_with_error_event_on_failure() -> None:
    model, _ = gemini_with(httpx.Response(503, text="busy"))
    with running(model=model) as url:
        text = httpx.post(f"{url}/chat/stream", json=SMOKE_BODY).text
    events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert events[0] == "stream_start" and events[-1] == "error"
    assert "stream_end" not in events
