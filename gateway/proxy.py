"""The proxy path: one plain ASGI callable per request (no middleware stack on the hot path).

read the body (within the limit) -> find the identity -> `routing.choose` -> send upstream ->
stream the answer back chunk by chunk -> record the outcome (aggregate, metrics, one log line).

Failover: a canary request that never reached the canary (connect error or connect timeout) is
sent to legacy and counted as a canary error; after a canary 5xx it is retried on legacy only on
paths that opt in (`GATEWAY_RETRY_ON_5XX_PATHS`). The body is buffered, so a retry resends it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gateway import identity
from gateway.aggregate import Flight
from gateway.errors import BodyTooLarge, GatewayError
from gateway.headers import client_response_headers, request_id_from, upstream_request_headers
from gateway.respond import send_json_error
from gateway.routing import CANARY, LEGACY, choose
from gateway.runtime import Runtime

CLIENT_CLOSED = 499  # nginx's convention: the client went away before the answer was complete


@dataclass(slots=True)
class Incoming:
    method: str
    path: str
    target_path: str  # raw path + query, as received
    headers: list[tuple[bytes, bytes]]
    request_id: str
    body: bytes
    started: float
    flight: Flight | None = None  # tracked in flight from routing until recorded


class Proxy:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        s = runtime.settings
        self._uid_header = s.user_id_header.encode("latin-1")
        self._force_header = s.force_header.encode("latin-1") if s.force_header_enabled else None
        self._bases = {LEGACY: s.legacy_url, CANARY: s.canary_url}
        self._target_header = s.target_header_enabled

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        started = time.perf_counter()
        found = self._scan_headers(scope["headers"])
        request_id = request_id_from(found.get(b"x-request-id"))
        try:
            body = await read_body(receive, found.get(b"content-length"), self.rt.max_body)
        except BodyTooLarge as err:
            await send_json_error(send, err.status, err.code, err.message, request_id)
            self.rt.log_refusal(scope, err.status, err.code, request_id)
            return
        incoming = Incoming(
            scope["method"], scope["path"], _target_path(scope), scope["headers"],
            request_id, body, started,
        )  # fmt: skip
        state = self.rt.state.current()
        user_id = self._identity(found, scope, body)
        forced = self._forced(found)
        decision = choose(
            user_id, state.percent, self.rt.policy, salt=state.salt, path=incoming.path,
            forced=forced,
        )  # fmt: skip
        up_headers = upstream_request_headers(
            scope["headers"],
            client_host=(scope.get("client") or (None,))[0],
            scheme=scope.get("scheme", "http"),
            request_id=request_id,
        )
        incoming.flight = self.rt.depart(decision, state.percent)
        try:
            await self._serve(
                decision.target, incoming, up_headers, send, (decision, state.percent)
            )
        finally:
            self.rt.land(incoming)  # whatever happened, it is no longer in flight

    def _scan_headers(self, headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
        wanted = (self._uid_header, self._force_header, b"x-request-id", b"content-length",
                  b"content-type")  # fmt: skip
        return {name: value for name, value in headers if name in wanted}

    def _identity(self, found: dict[bytes, bytes], scope: dict[str, Any], body: bytes):
        limit = self.rt.settings.user_id_max_length
        for source in self.rt.settings.identity_sources:
            if source == "header":
                uid = identity.from_header(found.get(self._uid_header), limit)
            elif source == "query":
                uid = identity.from_query(scope.get("query_string", b""), limit)
            else:
                uid = identity.from_body(body, found.get(b"content-type"), limit)
            if uid is not None:
                return uid
        return None

    def _forced(self, found: dict[bytes, bytes]) -> str | None:
        if self._force_header is None:
            return None
        raw = found.get(self._force_header, b"").strip().lower()
        return raw.decode("latin-1") if raw in (b"legacy", b"canary") else None

    async def _serve(self, target, incoming: Incoming, up_headers, send, why) -> None:
        attempt_started = time.perf_counter()
        try:
            response = await self.rt.client.send(
                target, incoming.method, self._bases[target] + incoming.target_path,
                up_headers, incoming.body, self.rt.settings.read_timeout_for(target),
            )  # fmt: skip
        except GatewayError as err:
            if target == CANARY and not err.reached_upstream:
                self.rt.record_failed_attempt(CANARY, err.kind, attempt_started, incoming)
                await self._serve(LEGACY, incoming, up_headers, send, why)
                return
            self.rt.metrics.upstream_error(target, err.kind)
            await send_json_error(
                send, err.status, err.code, err.message, incoming.request_id,
                target if self._target_header else None,
            )  # fmt: skip
            self.rt.record(target, None, incoming, why, err.kind)
            return
        if target == CANARY and response.status >= 500 and self._retry_path(incoming.path):
            response.release()
            self.rt.record_failed_attempt(CANARY, "status_5xx", attempt_started, incoming)
            await self._serve(LEGACY, incoming, up_headers, send, why)
            return
        await self._stream(target, response, incoming, send, why)

    def _retry_path(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.rt.settings.retry_on_5xx_paths)

    async def _stream(self, target, response, incoming: Incoming, send, why) -> None:
        headers = client_response_headers(response.raw_headers)
        if self._target_header:
            headers.append((b"x-canary-target", target.encode()))
        headers.append((b"x-request-id", incoming.request_id.encode("latin-1")))
        start = {"type": "http.response.start", "status": response.status, "headers": headers}
        status: int | None = response.status
        error_kind = None
        try:
            await self._send_body(response, send, start)
        except GatewayError as err:  # the upstream broke while sending its body
            status, error_kind = None, err.kind
            self.rt.metrics.upstream_error(target, err.kind)
            if not start.get("sent"):
                await send_json_error(send, err.status, err.code, err.message,
                                      incoming.request_id, target)  # fmt: skip
        except OSError:  # the client went away
            status, error_kind = CLIENT_CLOSED, "client_closed"
        finally:
            if status is None or status == CLIENT_CLOSED:
                response.close()
            else:
                response.release()
        self.rt.record(target, status, incoming, why, error_kind)

    @staticmethod
    async def _send_body(response, send, start: dict[str, Any]) -> None:
        """Stream the body; a body that arrived whole goes out right behind its headers."""
        chunks = response.chunks()
        first = await anext(chunks, b"")
        await send(start)
        start["sent"] = True
        if response.at_eof():
            await send({"type": "http.response.body", "body": first, "more_body": False})
            return
        await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _target_path(scope: dict[str, Any]) -> str:
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    qs = scope.get("query_string", b"")
    return (raw + b"?" + qs).decode("latin-1") if qs else raw.decode("latin-1")


async def read_body(receive, content_length: bytes | None, limit: int) -> bytes:
    """The whole request body, or BodyTooLarge as soon as it is known to exceed `limit`."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]
