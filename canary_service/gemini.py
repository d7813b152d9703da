"""A Gemini client over plain HTTP (httpx), behind the `ModelClient` interface.

Calls the public REST method `POST {base}/v1beta/models/{model}:generateContent` with body
`{"contents":[{"parts":[{"text": prompt}]}]}` and reads `candidates[0].content.parts[0].text`.
The key travels in the `x-goog-api-key` header, never in the URL, so it cannot leak into access
logs. Every failure becomes one typed error, so callers choose a fallback without parsing text:

    GeminiError
    ├── GeminiRateLimited     429
    ├── GeminiServerError     5xx
    ├── GeminiRequestError    other non-2xx (bad key, bad model name...)
    ├── GeminiTimeout         connect/read timeout
    ├── GeminiUnavailable     connection refused, DNS, other transport errors
    └── GeminiMalformed       2xx whose body has no candidate text
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class ModelClient(Protocol):
    """What the canary needs from a model: one prompt in, one text out (legacy's interface)."""

    async def generate(self, prompt: str) -> str: ...


class GeminiError(Exception):
    """Base of every Gemini failure; `reason` is a stable code for logs and metadata."""

    reason = "error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GeminiRateLimited(GeminiError):
    reason = "rate_limited"


class GeminiServerError(GeminiError):
    reason = "server_error"


class GeminiRequestError(GeminiError):
    reason = "request_error"


class GeminiTimeout(GeminiError):
    reason = "timeout"


class GeminiUnavailable(GeminiError):
    reason = "unavailable"


class GeminiMalformed(GeminiError):
    reason = "malformed"


def request_body(prompt: str) -> dict[str, Any]:
    return {"contents": [{"parts": [{"text": prompt}]}]}


def extract_text(payload: Any) -> str:
    """The answer text at candidates[0].content.parts[0].text, or GeminiMalformed."""
    try:
        text = payload["candidates"][0]["content"]["parts"][0]["text"]
    except (KeyError, IndexError, TypeError) as exc:
        raise GeminiMalformed(f"no candidate text in response ({exc!r})") from None
    if not isinstance(text, str) or not text.strip():
        raise GeminiMalformed("candidate text is empty or not a string")
    return text


def error_for_status(status: int, body: str) -> GeminiError:
    detail = f"Gemini answered HTTP {status}: {body[:200]}"
    if status == 429:
        return GeminiRateLimited(detail, status=status)
    if status >= 500:
        return GeminiServerError(detail, status=status)
    return GeminiRequestError(detail, status=status)


class GeminiClient:
    """One pooled httpx client per process; the app's lifespan calls `aclose()`."""

    def __init__(
        self,
        api_key: str,
        *,
        model: str = "gemini-2.0-flash",
        base_url: str = "https://generativelanguage.googleapis.com",
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            headers={"x-goog-api-key": api_key, "content-type": "application/json"},
            transport=transport,
        )

    @property
    def path(self) -> str:
        return f"/v1beta/models/{self.model}:generateContent"

    async def generate(self, prompt: str) -> str:
        response = await self._post(request_body(prompt))
        if response.status_code != 200:
            raise error_for_status(response.status_code, response.text)
        try:
            payload = response.json()
        except ValueError:
            raise GeminiMalformed("response body is not JSON", status=200) from None
        return extract_text(payload)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(self.path, json=body)
        except httpx.TimeoutException as exc:
            raise GeminiTimeout(f"Gemini timed out: {exc!r}") from None
        except httpx.HTTPError as exc:
            raise GeminiUnavailable(f"Gemini unreachable: {exc!r}") from None

    async def aclose(self) -> None:
        await self._client.aclose()
