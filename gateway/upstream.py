"""The fast HTTP client on the proxy path, behind one small interface.

Stock httpx costs ~5 ms CPU per proxied request here (DESIGN.md "Speed"); aiohttp's
`ClientSession` costs ~0.35 ms, so the hot path uses it. Everything else in the project uses httpx.

The session passes bodies through untouched (`auto_decompress=False`), adds no headers of its own
(`skip_auto_headers`), and keeps idle upstream connections for less time than the upstream servers
do (uvicorn closes idle keep-alive connections after 5 s), so a reused connection is never one
the upstream is closing. Exceptions are mapped to `GatewayError`s in `gateway.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from gateway.errors import GatewayError, from_client_exception

CHUNK_READ = 64 * 1024


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    raw_headers: list[tuple[bytes, bytes]]
    _response: aiohttp.ClientResponse
    _target: str

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body chunks as they arrive (server-sent events stay event by event)."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            raise from_client_exception(exc, self._target) from exc

    def at_eof(self) -> bool:
        return self._response.content.at_eof()

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


class UpstreamClient(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def send(
        self,
        target: str,
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

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,
            limit_per_host=self._pool_size,
            keepalive_timeout=self._keepalive_s,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
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

    async def send(self, target, method, url, headers, body, read_timeout_s) -> UpstreamResponse:
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self._connect_timeout_s, sock_read=read_timeout_s
        )
        try:
            response = await self.session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                compress=None,
            )
        except GatewayError:
            raise
        except Exception as exc:
            raise from_client_exception(exc, target) from exc
        return UpstreamResponse(response.status, list(response.raw_headers), response, target)

    async def probe(self, url: str, timeout_s: float) -> int:
        """GET `url`; the status code, or raise GatewayError when not reachable."""
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with self.session.get(url, timeout=timeout) as response:
                return response.status
        except Exception as exc:
            raise from_client_exception(exc, url) from exc
