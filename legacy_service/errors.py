"""Every error leaves the service as JSON in the original's shapes (ION_SPEC §1.6), mapped here.

- 422: FastAPI's `{"detail": [...]}`; a too-long `message` gets `max_message_length` appended to
  its `loc`, as the original custom handler did (clients match on it).
- `ApiError` (400 empty input, 500 pipeline failure, 413 body size): `{"error", "status_code"}`.
- Anything unexpected: one fixed 500 body, never a stack trace or an exception text.
- Unknown routes keep FastAPI's `{"detail": "Not Found"}`.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from common.asgi import ASGIApp, Message, Receive, Scope, Send
from common.logging import get_logger

INTERNAL_ERROR_BODY = {
    "error": "Internal server error",
    "detail": "서버에서 예상치 못한 오류가 발생했습니다.",
    "status_code": 500,
}
PIPELINE_ERROR_MESSAGE = "내부 서버 오류가 발생했습니다. 잠시 후 다시 시도해주세요."

log = get_logger("legacy_service.errors")


class ApiError(Exception):
    """An expected failure with a status; rendered as `{"error": message, "status_code"}`."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def api_error_body(status_code: int, message: str) -> dict[str, Any]:
    return {"error": message, "status_code": status_code}


def tweak_error(error: dict[str, Any]) -> dict[str, Any]:
    """Tag `message` length errors the way the original handler did; `url` is not in 422s."""
    error = {key: value for key, value in error.items() if key != "url"}
    loc = tuple(error.get("loc", ()))
    if loc == ("body", "message") and error.get("type") == "string_too_long":
        error["loc"] = [*loc, "max_message_length"]
    if isinstance(error.get("ctx"), dict):
        error["ctx"] = {key: _plain(value) for key, value in error["ctx"].items()}
    return error


def _plain(value: Any) -> Any:
    """Exceptions in `ctx` (from validators) serialise as their message, as FastAPI does."""
    return str(value) if isinstance(value, BaseException) else value


def validation_error_content(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"detail": jsonable_encoder([tweak_error(error) for error in errors])}


async def _on_validation_error(
    service: str, request: Request, exc: RequestValidationError
) -> JSONResponse:
    errors = exc.errors()
    summary = [{"type": e.get("type"), "loc": list(e.get("loc", ()))} for e in errors]
    log.info(f"{service}.invalid_request", path=request.url.path, errors=summary)
    return JSONResponse(status_code=422, content=validation_error_content(list(errors)))


async def _on_api_error(service: str, request: Request, exc: ApiError) -> JSONResponse:
    log.info(f"{service}.api_error", path=request.url.path, status_code=exc.status_code)
    content = api_error_body(exc.status_code, exc.message)
    return JSONResponse(status_code=exc.status_code, content=content)


async def _on_unhandled(service: str, request: Request, exc: Exception) -> JSONResponse:
    log.error(f"{service}.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return JSONResponse(status_code=500, content=INTERNAL_ERROR_BODY)


def install_error_handlers(app: FastAPI, *, service: str = "legacy") -> None:
    """`service` prefixes the log events (`legacy.invalid_request`), so a reusing service
    (the canary) logs under its own name."""
    app.add_exception_handler(RequestValidationError, partial(_on_validation_error, service))
    app.add_exception_handler(ApiError, partial(_on_api_error, service))
    app.add_exception_handler(Exception, partial(_on_unhandled, service))


async def send_json(send: Send, status: int, content: dict[str, Any], headers=()) -> None:
    """Write a whole JSON response from plain ASGI middleware."""
    body = json.dumps(content, ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class UnhandledErrorMiddleware:
    """Innermost guard: an exception escaping the app becomes the fixed 500 body *inside* the
    middleware stack, so it still gets security headers, a log line and a metric (Starlette's
    own server-error handler sits outside every user middleware)."""

    def __init__(self, app: ASGIApp, *, service: str = "legacy") -> None:
        self.app = app
        self.event = f"{service}.unhandled_error"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error(self.event, path=scope.get("path"), error_type=type(exc).__name__)
            if started:
                raise
            await send_json(send, 500, INTERNAL_ERROR_BODY)
