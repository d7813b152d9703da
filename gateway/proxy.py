"""The proxy path: one plain ASGI callable per request (no middleware stack on the hot path).

read the body (within the limit) -> find the identity -> `routing.choose` -> send upstream ->
stream the answer back chunk by chunk -> record one `Outcome` (`gateway.outcome`: aggregate,
metrics, one log line). From routing until its outcome is recorded a request is in flight
(`gateway.outcome` says why and how it always lands).

Failover: a canary request that never reached the canary (connect error or connect timeout) is
sent to legacy and counted as a canary error; after a canary 5xx it is retried on legacy only on
paths that opt in (`GATEWAY_RETRY_ON_5XX_PATHS`). The body is buffered, so a retry resends it.
"""

from __future__ import annotations

import time

from common.asgi import Message, Receive, Scope, Send
from gateway import identity
from gateway.errors import BodyTooLarge, GatewayError
from gateway.headers import client_response_headers, request_id_from, scan_request
from gateway.outcome import CLIENT_CLOSED, CLIENT_CLOSED_KIND, Incoming, Outcome
from gateway.respond import send_json_error
from gateway.routing import CANARY, LEGACY, Target, choose, series_of
from gateway.runtime import Runtime
from gateway.upstream import UpstreamResponse

_FORCEABLE = {target.value.encode("latin-1"): target for target in Target}  # force header values


class ClientDisconnected(Exception):
    """The client hung up (or uvicorn rejected the rest of its body) before the body was whole."""

    def __init__(self, received_bytes: int) -> None:
        super().__init__(f"client closed after {received_bytes} body bytes")
        self.received_bytes = received_bytes


class Proxy:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        s = runtime.settings
        self._uid_header = s.user_id_header.encode("latin-1")
        self._force_header = s.force_header.encode("latin-1") if s.force_header_enabled else None
        self._bases = {LEGACY: s.legacy_url, CANARY: s.canary_url}
        wanted = [self._uid_header, b"x-request-id", b"content-length", b"content-type"]
        self._wanted = frozenset([*wanted, *filter(None, [self._force_header])])
        self._target_header = s.target_header_enabled
        self._baseline_buckets = s.baseline_buckets
        self._record = runtime.recorder.record
        self._depart = runtime.recorder.depart
        self._land = runtime.recorder.land

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        scanned = scan_request(scope["headers"], self._wanted)
        found = scanned.found
        request_id = request_id_from(found.get(b"x-request-id"))
        try:
            body = await read_body(receive, found.get(b"content-length"), self.rt.max_body)
        except BodyTooLarge as err:
            await send_json_error(send, err.status, err.code, err.message, request_id)
            self.rt.log_refusal(scope, err.status, err.code, request_id)
            return
        except ClientDisconnected as closed:  # forward nothing, count nothing
            self.rt.logger.info(
                "gateway.client_closed", request_id=request_id, method=scope["method"],
                path=scope["path"], received_bytes=closed.received_bytes,
            )  # fmt: skip
            return
        path: str = scope["path"]
        state = self.rt.state.current()
        user_id = self._identity(found, scope, body)
        forced = self._forced(found)
        decision = choose(
            user_id, state.percent, self.rt.policy, salt=state.salt, path=path, forced=forced,
        )  # fmt: skip
        series = series_of(decision, state.percent, self._baseline_buckets)
        incoming = Incoming(
            scope["method"], path, _target_path(scope), scope["headers"], request_id, body,
            started, decision, state.percent, series,
        )  # fmt: skip
        up_headers = scanned.upstream_headers(
            client_host=(scope.get("client") or (None,))[0],
            scheme=scope.get("scheme", "http"),
            request_id=request_id,
        )
        incoming.flight = self._depart(series)  # nothing between here and the `try`
        try:
            await self._serve(decision.target, incoming, up_headers, send)
        finally:
            self._land(incoming.flight)  # whatever happened (cancelled too), no longer in flight

    def _identity(self, found: dict[bytes, bytes], scope: Scope, body: bytes) -> str | None:
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

    def _forced(self, found: dict[bytes, bytes]) -> Target | None:
        if self._force_header is None:
            return None
        return _FORCEABLE.get(found.get(self._force_header, b"").strip().lower())

    async def _serve(
        self, target: Target, incoming: Incoming, up_headers: list[tuple[str, str]], send: Send
    ) -> None:
        attempt_started = time.perf_counter()
        try:
            response = await self.rt.client.send(
                target, incoming.method, self._bases[target] + incoming.target_path,
                up_headers, incoming.body, self.rt.settings.read_timeout_for(target),
            )  # fmt: skip
        except GatewayError as err:
            if target == CANARY and not err.reached_upstream:
                self._record_failover(incoming, err.kind, attempt_started)
                await self._serve(LEGACY, incoming, up_headers, send)
                return
            await send_json_error(
                send, err.status, err.code, err.message, incoming.request_id,
                target if self._target_header else None,
            )  # fmt: skip
            self._record(Outcome.of(incoming, target, None, err.kind))
            return
        if target == CANARY and response.status >= 500 and self._retry_path(incoming.path):
            response.release()
            self._record_failover(incoming, "status_5xx", attempt_started)
            await self._serve(LEGACY, incoming, up_headers, send)
            return
        await self._stream(target, response, incoming, send)

    def _record_failover(self, incoming: Incoming, kind: str, attempt_started: float) -> None:
        """A canary attempt that failed before anything reached the client: a canary error."""
        self._record(
            Outcome.of(incoming, CANARY, None, kind, since=attempt_started, failed_over=True)
        )

    def _retry_path(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.rt.settings.retry_on_5xx_paths)

    async def _stream(
        self, target: Target, response: UpstreamResponse, incoming: Incoming, send: Send
    ) -> None:
        headers = client_response_headers(response.raw_headers)
        if self._target_header:
            headers.append((b"x-canary-target", target.encode()))
        headers.append((b"x-request-id", incoming.request_id.encode("latin-1")))
        start: Message = {
            "type": "http.response.start",
            "status": response.status,
            "headers": headers,
        }
        status: int | None = response.status
        error_kind: str | None = None
        try:
            await self._send_body(response, send, start)
        except GatewayError as err:  # the upstream broke while sending its body
            status, error_kind = None, err.kind
            if not start.get("sent"):
                await send_json_error(send, err.status, err.code, err.message,
                                      incoming.request_id, target)  # fmt: skip
        except OSError:  # the client went away
            status, error_kind = CLIENT_CLOSED, CLIENT_CLOSED_KIND
        finally:
            if status is None or status == CLIENT_CLOSED:
                response.close()
            else:
                response.release()
        self._record(Outcome.of(incoming, target, status, error_kind))

    @staticmethod
    async def _send_body(response: UpstreamResponse, send: Send, start: Message) -> None:
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


def _target_path(scope: Scope) -> str:
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    qs = scope.get("query_string", b"")
    return (raw + b"?" + qs).decode("latin-1") if qs else raw.decode("latin-1")


async def read_body(receive: Receive, content_length: bytes | None, limit: int) -> bytes:
    """The whole request body, or BodyTooLarge as soon as it is known to exceed `limit`.

    `http.disconnect` before the last chunk raises ClientDisconnected: the client went away
    mid-body, or uvicorn's parser rejected the rest (a bad chunk size) and answered 400 itself.
    An upstream must never act on a request its client did not finish or was told was invalid.
    uvicorn also reports a disconnect, and drops what it had buffered, when the client hangs up
    after its last byte but before the app asked for the body; that request is not forwarded
    either (nobody is left to read the answer).
    """
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected(size)
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]
