"""JSON error answers written straight to ASGI `send`: `{"error", "code", "request_id"}`."""

from __future__ import annotations

import json

from common.asgi import Send


async def send_json_error(
    send: Send, status: int, code: str, message: str, request_id: str, target: str | None = None
) -> None:
    body = json.dumps({"error": message, "code": code, "request_id": request_id}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode("latin-1")),
    ]
    if target:
        headers.append((b"x-canary-target", target.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
