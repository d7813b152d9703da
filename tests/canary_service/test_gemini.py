"""The real Gemini client against a respx-mocked Google endpoint (the only peer we cannot run)."""

from __future__ import annotations

import httpx
import pytest
import respx

from canary_service.gemini import (
    GeminiClient,
    GeminiMalformed,
    GeminiRateLimited,
    GeminiRequestError,
    GeminiServerError,
    GeminiTimeout,
    GeminiUnavailable,
)

BASE = "https://gemini.test"
URL = f"{BASE}/v1beta/models/gemini-2.0-flash:generateContent"


def ok_body(text: str) -> dict:
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}]}


def client_for(router: respx.MockRouter) -> GeminiClient:
    transport = httpx.MockTransport(router.async_handler)
    return GeminiClient("test-key", base_url=BASE, timeout_s=1.0, transport=transport)


@pytest.mark.anyio
async def test_success_sends_the_documented_request() -> None:
    router = respx.MockRouter(assert_all_called=True)
    route = router.post(URL).mock(return_value=httpx.Response(200, json=ok_body("안녕")))
    client = client_for(router)
    assert await client.generate("질문") == "안녕"
    request = route.calls.last.request
    assert request.headers["x-goog-api-key"] == "test-key"
    assert "key=" not in str(request.url)
    assert httpx.Response(200, content=request.content).json() == {
        "contents": [{"parts": [{"text": "질문"}]}]
    }
    await client.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "error", "reason"),
    [
        (httpx.Response(429, json={"error": {"code": 429}}), GeminiRateLimited, "rate_limited"),
        (httpx.Response(500, text="boom"), GeminiServerError, "server_error"),
        (httpx.Response(503, text="busy"), GeminiServerError, "server_error"),
        (httpx.Response(400, json={"error": "bad key"}), GeminiRequestError, "request_error"),
        (httpx.Response(200, text="not json"), GeminiMalformed, "malformed"),
        (httpx.Response(200, json={"candidates": []}), GeminiMalformed, "malformed"),
        (httpx.Response(200, json={"candidates": [{"content": {}}]}), GeminiMalformed, "malformed"),
        (httpx.Response(200, json=ok_body("   ")), GeminiMalformed, "malformed"),
        (httpx.ReadTimeout("slow"), GeminiTimeout, "timeout"),
        (httpx.ConnectTimeout("slow"), GeminiTimeout, "timeout"),
        (httpx.ConnectError("refused"), GeminiUnavailable, "unavailable"),
    ],
)
async def test_failures_raise_typed_errors(response, error, reason) -> None:
    router = respx.MockRouter()
    route = router.post(URL)
    if isinstance(response, Exception):
        route.mock(side_effect=response)
    else:
        route.mock(return_value=response)
    client = client_for(router)
    with pytest.raises(error) as info:
        await client.generate("x")
    assert info.value.reason == reason
    await client.aclose()
