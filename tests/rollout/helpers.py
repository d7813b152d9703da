"""Shared test helpers: a tiny starlette app that mounts the rollout extension like the gateway,
a real gateway around it, fault injection and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from gateway.aggregate import Aggregator
from gateway.app import create_app
from gateway.server import server_options
from gateway.settings import GatewaySettings
from rollout.extension import GatewayRollout
from rollout.settings import RolloutSettings
from rollout.store import StoreError, open_store
from tests.gateway.upstreams import Upstream
from tests.support.servers import serve_app


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

    def __init__(self, inner, kind: str | None = None) -> None:
        self.inner = inner
        self.kind = kind  # the StoreError's kind while broken (default: the generic "error")
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
                raise StoreError("disk I/O error (injected)", kind=self.kind)
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


TOKEN = "ext-admin-token"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
CANARY_USER = "user_19"  # bucket 0: on the canary at any percent


@contextlib.contextmanager
def gateway(settings: RolloutSettings, registry: CollectorRegistry | None = None, **kwargs):
    """A real gateway (one upstream behind both targets) with the rollout extension."""
    registry = registry or CollectorRegistry()
    ext = GatewayRollout(settings, admin_token=TOKEN, registry=registry, **kwargs)
    upstream = Upstream("both")
    with serve_app(upstream.app) as upstream_url:
        gateway_settings = GatewaySettings(
            legacy_url=upstream_url, canary_url=upstream_url, admin_token=TOKEN
        )
        app = create_app(gateway_settings, registry=registry, rollout=ext)
        with (
            serve_app(app, **server_options(gateway_settings)) as url,
            httpx.Client(base_url=url, timeout=10.0) as client,
        ):
            yield client, ext


def target_of(client: httpx.Client, user: str = CANARY_USER) -> str:
    response = client.get("/chat", headers={"x-user-id": user})
    assert response.status_code == 200
    return response.headers["x-canary-target"]


def requests_in_store(url, since: int, until: int, **options) -> int:
    """Requests the store holds for [since, until): legacy plus canary (baseline is a subset)."""
    store = open_store(url, **options)
    try:
        rows = [*store.seconds("legacy", since, until), *store.seconds("canary", since, until)]
        return sum(r.requests for r in rows)
    finally:
        store.close()


def routing_check(client: httpx.Client) -> dict:
    return client.get("/readyz").json()["checks"]["routing"]
