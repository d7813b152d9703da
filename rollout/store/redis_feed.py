"""Redis connection options, error mapping, and the change feed (pub/sub on `<prefix>changes`).

`RedisChangeFeed.changes()` opens its own `redis.asyncio` subscription each time it is
iterated and yields every version the compare-and-set script publishes. When the connection
breaks (Redis restarted, network cut) the iteration raises `StoreError`; iterating again
reconnects. A message is a hint to re-read the state, never the state itself, so one lost
while nobody was subscribed costs the reader one poll interval.

`aclose()` may run while iterations are mid-read (another task awaiting `changes()`). Closing
a subscription's connection under a running read is not enough: redis-py's read reconnects
a connection it finds closed, and that new connection is never closed (a `ResourceWarning`
when it is collected). So every command an iteration sends runs as a task of its own that
`aclose()` cancels and waits for before it closes the subscriptions and the client; the
iteration then ends as if the feed had been closed before it read.

The error mapping is the one boundary where redis-py's exceptions become ours: the message
names the kind and the redacted URL, never the password (DESIGN.md "Cross-cutting").
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import AuthorizationError

from rollout.store.interface import StoreBusy, StoreError
from rollout.store.schemes import StoreURL

_T = TypeVar("_T")

#: How often a waiting iteration wakes to notice `aclose()` (it also ends at once when its
#: connection is closed under it).
WAKE_SECONDS = 0.25
#: After this long without a message the iteration probes its own subscription: it publishes on
#: a private channel it also listens to. No echo within the command timeout means the
#: connection is dead without having said so (a frozen Redis, a cut that sent no reset), and
#: the iteration raises `StoreError` like any broken connection. (redis-py's pub/sub PING is
#: not usable here: its reply is mis-parsed.)
PROBE_AFTER_SECONDS = 1.0


def client_options(
    url: StoreURL, connect_timeout: float, command_timeout: float, ca_file: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for `redis.Redis` and `redis.asyncio.Redis` alike. `rediss://`
    verifies the server's certificate and host name (against `ca_file` when given)."""
    tls: dict[str, Any] = {}
    if url.scheme == "rediss":  # explicit: redis-py 5 did not check the host name by default
        tls = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
        if ca_file:
            tls["ssl_ca_certs"] = ca_file
    return {
        **tls,
        "host": url.host or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.path or 0),
        "username": url.username or None,
        "password": url.password or None,
        "ssl": url.scheme == "rediss",
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": command_timeout,
        "decode_responses": True,
    }


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, redis.AuthenticationError | AuthorizationError):
        return "auth"
    if isinstance(exc, redis.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, redis.ConnectionError | OSError):
        detail = str(exc)
        return "tls" if "SSL" in detail or "certificate" in detail.lower() else "unreachable"
    if isinstance(exc, redis.ResponseError) and "NOAUTH" in str(exc):
        return "auth"
    return "error"


def store_error(exc: BaseException, url: StoreURL) -> StoreError:
    """One redis-py exception as ours: `rollout store <kind> (<url>): <detail>`."""
    detail = str(exc)
    if url.password:
        detail = detail.replace(url.password, "***")
    if isinstance(exc, redis.ResponseError) and detail.startswith("BUSY"):
        return StoreBusy(f"rollout store busy ({url}): Redis is running a script")
    kind = error_kind(exc)
    return StoreError(f"rollout store {kind} ({url}): {type(exc).__name__}: {detail}", kind=kind)


class _Closed(Exception):
    """The feed was closed while an iteration waited on Redis: the iteration ends."""


class RedisChangeFeed:
    def __init__(self, url: StoreURL, options: dict[str, Any], channel: str) -> None:
        self.url, self.channel = url, channel
        self.timeout_seconds = float(options["socket_timeout"])
        self._client = aioredis.Redis(**options, retry=AsyncRetry(NoBackoff(), 0))
        self._closed = False
        self._live: set[Any] = set()
        self._subscribed: set[Any] = set()  # the live ones connected, SUBSCRIBE sent
        self._io: set[asyncio.Task[Any]] = set()  # the iterations' commands in flight

    @property
    def subscribed(self) -> bool:
        return bool(self._subscribed)

    async def changes(self) -> AsyncIterator[int]:
        if self._closed:
            return
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._live.add(pubsub)
        probe = f"{self.channel}:probe:{uuid.uuid4().hex}"
        try:
            await self._command(pubsub.subscribe(self.channel, probe))
            self._subscribed.add(pubsub)
            async for version in self._versions(pubsub, probe):
                yield version
        except _Closed:
            return
        except (redis.RedisError, OSError, asyncio.IncompleteReadError) as exc:
            if not self._closed:
                raise store_error(exc, self.url) from None
        finally:
            self._live.discard(pubsub)
            self._subscribed.discard(pubsub)
            await _quietly_close(pubsub)

    async def _versions(self, pubsub: Any, probe: str) -> AsyncIterator[int]:
        loop = asyncio.get_running_loop()
        heard, probed = loop.time(), None
        while not self._closed:
            message = await self._command(pubsub.get_message(timeout=WAKE_SECONDS))
            now = loop.time()
            if message is not None:
                heard, probed = now, None
                version = _version(message, self.channel)
                if version is not None:
                    yield version
            elif probed is None and now - heard >= PROBE_AFTER_SECONDS:
                await self._command(self._client.publish(probe, "1"))
                probed = now
            elif probed is not None and now - probed > self.timeout_seconds:
                raise redis.TimeoutError(f"change feed silent for {now - heard:.1f} s")

    async def _command(self, command: Awaitable[_T]) -> _T:
        """Run one of an iteration's commands so that `aclose()` can cancel it and know it
        is over. `_Closed` when the feed is (or gets) closed; a cancelled iteration cancels
        its command too and waits for it, so nothing reads on after it."""
        if self._closed:
            if asyncio.iscoroutine(command):
                command.close()  # never started: no "never awaited" warning
            raise _Closed
        task = asyncio.ensure_future(command)
        self._io.add(task)
        try:
            await asyncio.wait([task])
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait([task])
            self._io.discard(task)
        if task.cancelled():
            raise _Closed
        return task.result()

    async def aclose(self) -> None:
        """End every iteration, those mid-read too, and close every connection."""
        self._closed = True
        running = list(self._io)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for pubsub in list(self._live):
            await _quietly_close(pubsub)
        await self._client.aclose()


def _version(message: dict[str, Any], channel: str) -> int | None:
    """The version a change notice carries; None for probes (and anything not a number)."""
    if message.get("type") != "message" or message.get("channel") != channel:
        return None
    data = message.get("data")
    return int(data) if isinstance(data, str) and data.isdigit() else None


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(redis.RedisError, OSError, RuntimeError):
        await pubsub.aclose()
