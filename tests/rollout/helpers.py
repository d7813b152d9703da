"""Shared test helpers: a tiny starlette app that mounts the rollout extension like the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable

from starlette.applications import Starlette

from gateway.aggregate import Aggregator
from rollout.extension import GatewayRollout
from rollout.store import StoreError


def host_app(extension: GatewayRollout, aggregator: Aggregator | None = None) -> Starlette:
    """What the gateway does with a RolloutExtension: mount routes, start/stop in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await extension.start(aggregator or Aggregator())
        yield
        await extension.stop()

    return Starlette(routes=list(extension.routes), lifespan=lifespan)


async def eventually(predicate: Callable[[], object], timeout: float = 5.0, what: str = "it"):
    """Async twin of tests.support.servers.wait_until: poll with a deadline, fail loudly."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


class FlakyStore:
    """Fault injection: a real store whose reads and writes fail while `broken` is set.

    `failed` counts the refused calls by method name, so a test can wait for a given call to
    have been refused (and, by counting, retried) rather than for a state that may already hold;
    `done` counts the calls that went through (returned), likewise.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.broken = False
        self.failed: Counter[str] = Counter()
        self.done: Counter[str] = Counter()

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if not callable(attr) or name == "close":
            return attr

        def call(*args, **kwargs):
            if self.broken:
                self.failed[name] += 1
                raise StoreError("disk I/O error (injected)")
            result = attr(*args, **kwargs)
            self.done[name] += 1
            return result

        return call


@contextlib.contextmanager
def write_locked(path: str):
    """Another process's connection holding SQLite's write lock on the same file."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()
