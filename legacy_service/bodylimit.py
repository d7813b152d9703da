"""Request body size limit (413) as plain ASGI, before FastAPI reads or parses anything.

A declared Content-Length over the limit is refused at once; a chunked body is buffered up to the
limit and refused the moment it passes it. Bodies here are small JSON, so buffering is cheap and
means the app never sees a partial body.
"""

from __future__ import annotations

from typing import Any

from common.asgi import ASGIApp, Message, Receive, Scope, Send
from legacy_service.errors import api_error_body, send_json


def too_large_body(max_body_bytes: int) -> dict[str, Any]:
    body = api_error_body(413, f"Request body too large (limit {max_body_bytes} bytes)")
    return body


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, on_reject=None) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await self._reject(scope, send)
            return
        body = await self._read_within_limit(receive)
        if body is None:
            await self._reject(scope, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_within_limit(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _reject(self, scope: Scope, send: Send) -> None:
        if self.on_reject is not None:
            self.on_reject(scope.get("path", ""))
        await send_json(send, 413, too_large_body(self.max_body_bytes))


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body over once, then defer to the real channel (disconnects)."""
    delivered = False

    async def replay_receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive
