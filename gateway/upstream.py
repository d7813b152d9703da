"""The fast HTTP client on the proxy path, behind one small interface.

Stock httpx costs ~5 ms CPU per proxied request here (DESIGN.md "Speed"); aiohttp's
`ClientSession` costs ~0.35 ms, so the hot path uses it. Everything else in the project uses httpx.

The session passes bodies through untouched (`auto_decompress=False`), adds no headers of its own
(`ProxyRequest`), keeps no cookies (the default jar would store one user's `Set-Cookie` from an
upstream with a host name and send it upstream with every later user's request), and keeps
idle upstream connections for less time than the upstream servers do (uvicorn closes idle
keep-alive connections after 5 s), so a reused connection is never one the upstream is closing.
Every call into aiohttp runs inside `map_client_errors`, the one place where its exceptions
become the `GatewayError`s of `gateway.errors` (httpx's `map_httpcore_exceptions` habit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import aiohttp
from aiohttp.client import IDEMPOTENT_METHODS
from aiohttp.helpers import EMPTY_BODY_METHODS, TimerNoop
from multidict import CIMultiDict, istr
from yarl import URL

from gateway.errors import (
    GatewayError,
    UpstreamConnectTimeout,
    UpstreamProtocol,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from gateway.routing import Target

CHUNK_READ = 64 * 1024


def client_error(exc: Exception, target: str) -> GatewayError:
    """The `GatewayError` an aiohttp/asyncio exception raised while talking to `target` means."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamConnectTimeout(f"timed out connecting to the {target} upstream")
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return UpstreamUnreachable(f"the {target} upstream is unreachable")
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"the {target} upstream did not answer in time")
    return UpstreamProtocol(f"the {target} upstream sent a broken response")


class map_client_errors:  # lower case: used like contextlib.suppress, so named like it
    """`with map_client_errors(target):` turns any exception from the client into the
    `GatewayError` it means; a `GatewayError` and anything that is not an `Exception`
    (cancellation, `GeneratorExit`) pass through untouched.

    A class rather than `@contextmanager`: it keeps no per-use state, so the client holds one per
    target and the proxy path allocates nothing for it.
    """

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, Exception) and not isinstance(exc, GatewayError):
            raise client_error(exc, self.target) from exc


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    raw_headers: list[tuple[bytes, bytes]]
    _response: aiohttp.ClientResponse
    _errors: map_client_errors

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body chunks as they arrive (server-sent events stay event by event)."""
        with self._errors:
            async for chunk in self._response.content.iter_any():
                yield chunk

    def at_eof(self) -> bool:
        return self._response.content.at_eof()

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


_NO_TIMER = TimerNoop()  # no total timeout: connect and read deadlines only
_SKIPPED_AUTO_HEADERS: CIMultiDict[None] = CIMultiDict(
    (name, None) for name in ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
)


class ProxyRequest(aiohttp.ClientRequest):
    """aiohttp's request without the headers a client adds of its own accord (`Accept`,
    `Accept-Encoding`, `User-Agent`, and `Content-Type` on a POST without one): a proxy forwards
    its client's. What `skip_auto_headers` does, without building and sorting a multidict of the
    skipped names on every request (aiohttp's `update_auto_headers`)."""

    DEFAULT_HEADERS: dict[istr, str] = {}  # noqa: RUF012 (read only, as in aiohttp)

    def update_auto_headers(self, skip_auto_headers: Iterable[str] | None) -> None:
        self._skip_auto_headers = _SKIPPED_AUTO_HEADERS  # read only: send() checks Content-Type


class UpstreamClient(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def send(
        self,
        target: Target,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        read_timeout_s: float,
    ) -> UpstreamResponse: ...

    async def probe(self, url: str, timeout_s: float) -> int: ...


class AiohttpUpstream:
    def __init__(self, *, pool_size: int, connect_timeout_s: float, keepalive_s: float) -> None:
        self._pool_size = pool_size
        self._connect_timeout_s = connect_timeout_s
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._errors = {target: map_client_errors(target) for target in Target}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._connector: aiohttp.TCPConnector | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,
            limit_per_host=self._pool_size,
            keepalive_timeout=self._keepalive_s,
            ttl_dns_cache=300,
        )
        self._loop = asyncio.get_running_loop()
        self._connector = connector
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            request_class=ProxyRequest,
            cookie_jar=aiohttp.DummyCookieJar(),  # a proxy never keeps one user's cookies
            timeout=aiohttp.ClientTimeout(total=None, connect=self._connect_timeout_s),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("upstream client used before open()")
        return self._session

    async def send(
        self,
        target: Target,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        read_timeout_s: float,
    ) -> UpstreamResponse:
        timeout = self._timeouts.get(read_timeout_s)
        if timeout is None:  # one per distinct read timeout (one per target), made once
            timeout = self._timeouts[read_timeout_s] = aiohttp.ClientTimeout(
                total=None, connect=self._connect_timeout_s, sock_read=read_timeout_s
            )
        errors = self._errors[target]
        with errors:
            response = await self._exchange(method, URL(url, encoded=True), headers, body, timeout)
        return UpstreamResponse(response.status, list(response.raw_headers), response, errors)

    async def _exchange(
        self,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """`ClientSession._request`'s steps for one proxied request, on the session's own
        connector, request and response classes, without what a proxy never uses there
        (redirects, cookies, auth, proxies from the environment, tracing, middlewares, a total
        timeout), which cost ~10 % of the gateway's CPU per request. Like the session, an
        idempotent request is retried once when a pooled connection turns out to be dead.
        These layers are aiohttp internals, not its public API: pyproject pins one minor series
        (3.14), and the proxy tests are what to run when moving it."""
        session, connector = self.session, self._connector
        assert connector is not None
        retry = method in IDEMPOTENT_METHODS
        while True:
            request = ProxyRequest(
                method, url, headers=headers, data=body or None, loop=self._loop,
                response_class=aiohttp.ClientResponse, session=session, timer=_NO_TIMER,
            )  # fmt: skip
            try:
                connection = await connector.connect(request, traces=[], timeout=timeout)
            except TimeoutError as exc:
                raise aiohttp.ConnectionTimeoutError(f"timed out connecting to {url}") from exc
            assert connection.protocol is not None
            connection.protocol.set_response_params(
                timer=_NO_TIMER, skip_payload=method in EMPTY_BODY_METHODS,
                auto_decompress=False, read_timeout=timeout.sock_read,
            )  # fmt: skip
            try:
                response = await request.send(connection)
                try:
                    await response.start(connection)
                except BaseException:
                    response.close()
                    raise
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                connection.close()
                if not retry:
                    raise
                retry = False
                continue
            except BaseException:
                connection.close()
                raise
            return response

    async def probe(self, url: str, timeout_s: float) -> int:
        """GET `url`; the status code, or raise GatewayError when not reachable."""
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        with map_client_errors(url):
            async with self.session.get(url, timeout=timeout) as response:
                return response.status
