"""The gateway's HTTP server: uvicorn (uvloop + httptools) and the bounds a client meets before
its request reaches the app.

Stock uvicorn buffers a request head without limit (httptools keeps an unfinished header in
memory, growing with every byte) and waits for it forever, so a few dozen unauthenticated
connections can exhaust the gateway's memory or file descriptors. `BoundedHttpToolsProtocol`
adds, per connection:

    bound                          setting                            past it
    request line (method, URL)     GATEWAY_MAX_HEADER_LINE_BYTES      414 uri_too_long
    one header line                GATEWAY_MAX_HEADER_LINE_BYTES      431 header_too_large
    the whole head                 GATEWAY_MAX_HEAD_BYTES             431 head_too_large
    number of headers              GATEWAY_MAX_HEADERS                431 too_many_headers
    time for the head to arrive    GATEWAY_HEADER_TIMEOUT_SECONDS     408 header_timeout
    open connections (per worker)  GATEWAY_MAX_CONNECTIONS            503 too_many_connections

A refusal is the gateway's JSON error `{"error", "code", "request_id"}` with `connection:
close`, then the connection is closed and one `gateway.request_refused` line is logged (with
the client address). It happens in the protocol, before any ASGI task exists: a refused head
never reaches the app, so it is neither proxied nor counted. Lines, count and size are checked
when the head is complete; while it is still arriving, only its size is, so a header or URL that
never ends is cut at the head limit (431 head_too_large) and memory stays bounded. A connection
that sends nothing within the header timeout is closed without an answer (like an idle
keep-alive connection). The head clock starts at accept, and on a kept-alive connection at the
first read that leaves a head incomplete; it pauses while the previous response is still being
sent. (A stalled head that arrives with the previous request is cut by uvicorn's 5 s keep-alive
timeout instead.)

The connection bound is checked at accept, so connections that never finish their head count
against it and the file descriptors a slow client can hold stay bounded. uvicorn's own
`limit_concurrency` is not used: it is checked only once a head is complete, answers in plain
text, and counts connections that are still dribbling their heads without ever refusing them.

Relies on uvicorn's `HttpToolsProtocol` internals (`data_received`, `on_headers_complete`,
`on_message_complete`, `send_400_response`, `url`, `headers`, `cycle`, `connections`);
tests/gateway/test_server.py drives each bound over real sockets, so an upgrade that moves them
fails there.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from common.logging import get_logger
from gateway.headers import request_id_from
from gateway.settings import GatewaySettings


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Defaults follow nginx (`large_client_header_buffers 4 8k`) and Apache (100 fields)."""

    max_header_line_bytes: int = 8 * 1024
    max_head_bytes: int = 32 * 1024
    max_headers: int = 100
    header_timeout_seconds: float = 10.0
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> ConnectionLimits:
        return cls(
            settings.max_header_line_bytes, settings.max_head_bytes, settings.max_headers,
            settings.header_timeout_seconds, settings.max_connections,
        )  # fmt: skip


LINGER_SECONDS = 2.0  # after a refusal: time for the client to read it and stop sending


class _Refused(Exception):
    """Raised from a parser callback once the refusal is sent, to stop httptools mid-buffer."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """The hot path pays three short overrides per request: a head that arrives whole in one
    read (nearly every head) is checked once, at its end, and never arms a timer."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_open = True  # reading a request head (not a body, not idle after a response)
        self._head_bytes = 0  # read since this head began (may include a body in the same read)
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._linger: asyncio.TimerHandle | None = None

    # connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            message = "too many open connections; retry later"
            self._refuse(503, "too_many_connections", message, linger=False)
            return
        self._arm_head_timer()  # also closes a connection that never sends a byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: read and drop
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_open and self._head_bytes and not self._refused:  # a head, still partial
            if self._head_bytes > self.limits.max_head_bytes:
                limit = self.limits.max_head_bytes
                self._refuse(431, "head_too_large", f"request head exceeds {limit} bytes")
            elif self._head_timer is None:
                self._arm_head_timer()

    # parser callbacks ---------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._cancel_head_timer()
        # No line can be longer than what was read; a pipelined head read along with the
        # previous request was not counted (0), so it is checked in full.
        small = 0 < self._head_bytes <= self.limits.max_header_line_bytes
        if not small or len(self.headers) > self.limits.max_headers:
            self._check_head()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open, self._head_bytes = True, 0

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # our refusal is already on the wire; _Refused looks like a 400
            super().send_400_response(msg)

    # bounds -------------------------------------------------------------------------------

    def _check_head(self) -> None:
        """The exact checks of a complete head; raises _Refused (from the parser callback, to
        stop httptools) once the refusal is sent."""
        line, sizes = self.limits.max_header_line_bytes, [len(n) + len(v) for n, v in self.headers]
        if len(self.url) > line:
            self._refuse(414, "uri_too_long", f"request line exceeds {line} bytes")
        elif len(sizes) > self.limits.max_headers:
            message = f"more than {self.limits.max_headers} request headers"
            self._refuse(431, "too_many_headers", message)
        elif sizes and max(sizes) > line:
            self._refuse(431, "header_too_large", f"a request header exceeds {line} bytes")
        elif len(self.url) + sum(sizes) + 4 * len(sizes) > self.limits.max_head_bytes:
            limit = self.limits.max_head_bytes
            self._refuse(431, "head_too_large", f"request head exceeds {limit} bytes")
        else:
            return
        raise _Refused

    def _arm_head_timer(self) -> None:
        timeout = self.limits.header_timeout_seconds
        self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._answering():
            self._arm_head_timer()  # a pipelined head waits while the previous answer goes out
        elif self._head_bytes == 0:
            self.transport.close()
        else:
            seconds = self.limits.header_timeout_seconds
            self._refuse(408, "header_timeout", f"request head not received within {seconds} s")

    def _refuse(self, status: int, code: str, message: str, *, linger: bool = True) -> None:
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_head_timer()
        request_id = request_id_from(None)
        body = json.dumps({"error": message, "code": code, "request_id": request_id}).encode()
        head = [STATUS_LINE[status]]
        for name, value in [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join([*head, b"\r\n", body]))
        if linger:
            self._close_after_answer()
        else:
            self.transport.close()
        get_logger("gateway").warning(
            "gateway.request_refused", request_id=request_id, status=status, code=code,
            client=self.client[0] if self.client else None, head_bytes=self._head_bytes,
        )  # fmt: skip

    def _answering(self) -> bool:
        """A response is still going out (uvicorn types `cycle` as always set; it is None until
        the first request of the connection)."""
        cycle: object = self.cycle
        return cycle is not None and not self.cycle.response_complete

    def _close_after_answer(self) -> None:
        """Lingering close, nginx's habit: closing with the client's unread bytes in the socket
        makes the kernel answer with a reset, which can destroy the refusal before the client
        reads it. So: FIN after the answer, drop whatever still arrives, close soon after.
        Not for connections refused at accept: they are past the bound, and lingering would let
        a client that reconnects at once hold a descriptor each for LINGER_SECONDS."""
        if self._answering() or not self.transport.can_write_eof():
            self.transport.close()  # an earlier pipelined response still owns the stream
            return
        self.transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """What uvicorn's `http=` gets. uvicorn builds protocols with keyword arguments only, so a
    partial serves as the class; unlike a class made at run time it pickles, which
    `GATEWAY_WORKERS` > 1 needs (uvicorn spawns each worker with a copy of its config)."""
    factory = functools.partial(BoundedHttpToolsProtocol, limits=limits)
    return cast("type[asyncio.Protocol]", factory)


def server_options(settings: GatewaySettings) -> dict[str, Any]:
    """The uvicorn options that shape every connection; tests start the gateway with them too."""
    return {
        "http": protocol_class(ConnectionLimits.from_settings(settings)),
        "access_log": False,
        "proxy_headers": False,  # the gateway is the edge: it appends the peer to X-Forwarded-For
        "server_header": False,  # the upstream's Server/Date headers pass through unchanged
        "date_header": False,
    }


def run(settings: GatewaySettings, app_factory: str) -> None:
    """Serve the app `app_factory` ("module:function") builds; each worker calls it itself."""
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        log_level="warning",
        timeout_graceful_shutdown=10,
        **server_options(settings),
    )
