"""Redis connection options, error mapping, and the change feed (pub/sub on `<prefix>changes`).

`RedisChangeFeed.changes()` opens its own `redis.asyncio` subscription each time it is
iterated and yields every version the compare-and-set script publishes. When the connection
breaks (Redis restarted, network cut) the iteration raises `StoreError`; iterating again
reconnects. A message is a hint to re-read the state, never the state itself, so one lost
while nobody was subscribed costs the reader one poll interval.

The error mapping is the one boundary where redis-py's exceptions become ours: the message
names the kind and the redacted URL, never the password (DESIGN.md "Cross-cutting").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import AuthorizationError

from rollout.store.interface import StoreBusy, StoreError
from rollout.store.schemes import StoreURL

#: How often a waiting iteration wakes to notice `aclose()` (it also ends at once when its
#: connection is closed under it).
WAKE_SECONDS = 0.25


def client_options(url: StoreURL, connect_timeout: float, command_timeout: float) -> dict[str, Any]:
    """Keyword arguments for `redis.Redis` and `redis.asyncio.Redis` alike."""
    return {
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
        return "unreachable"
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


class RedisChangeFeed:
    def __init__(self, url: StoreURL, options: dict[str, Any], channel: str) -> None:
        self.url, self.channel = url, channel
        self._client = aioredis.Redis(**options, retry=AsyncRetry(NoBackoff(), 0))
        self._closed = False
        self._live: set[Any] = set()
        self._subscribed: set[Any] = set()  # the live ones connected, SUBSCRIBE sent

    @property
    def subscribed(self) -> bool:
        return bool(self._subscribed)

    async def changes(self) -> AsyncIterator[int]:
        if self._closed:
            return
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._live.add(pubsub)
        try:
            await pubsub.subscribe(self.channel)
            self._subscribed.add(pubsub)
            while not self._closed:
                message = await pubsub.get_message(timeout=WAKE_SECONDS)
                if message is not None and message.get("type") == "message":
                    yield int(message["data"])
        except (redis.RedisError, OSError, asyncio.IncompleteReadError) as exc:
            if not self._closed:
                raise store_error(exc, self.url) from None
        finally:
            self._live.discard(pubsub)
            self._subscribed.discard(pubsub)
            await _quietly_close(pubsub)

    async def aclose(self) -> None:
        self._closed = True
        for pubsub in list(self._live):
            await _quietly_close(pubsub)
        await self._client.aclose()


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(redis.RedisError, OSError, RuntimeError):
        await pubsub.aclose()
