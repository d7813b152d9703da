"""rollout/extension.py: polling, flushing, fail-static on an unreadable store, metrics."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.aggregate import Aggregator
from gateway.app import create_app
from gateway.server import server_options
from gateway.settings import GatewaySettings
from rollout.extension import GatewayRollout
from rollout.machine import Advance, Start
from rollout.settings import RolloutSettings
from rollout.store.sqlite import SqliteStore
from tests.gateway.upstreams import Upstream
from tests.rollout.helpers import FlakyStore, eventually, write_locked
from tests.support.servers import serve_app, wait_until


@pytest.fixture
def parts(tmp_path):
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db",
        profile="demo",
        poll_interval_seconds=0.02,
        flush_interval_seconds=0.02,
    )
    store = FlakyStore(SqliteStore(settings.sqlite_path))
    registry = CollectorRegistry()
    ext = GatewayRollout(
        settings, admin_token=None, registry=registry, store=store, run_controller=False
    )
    return ext, store, registry


@pytest.mark.anyio
async def test_state_changes_reach_routing_and_metrics(parts):
    ext, store, registry = parts
    await ext.start(Aggregator())
    try:
        assert ext.current().percent == 0
        other = SqliteStore(store.inner.path)  # another process changes the state
        await ext_service(ext).apply(Start(salt="abc"))
        await ext_service(ext).apply(Advance())
        await eventually(lambda: ext.current().percent == 10, what="percent 10")
        assert ext.current().salt == "abc" and ext.current().version == other.read().version
        assert registry.get_sample_value("rollout_canary_percent") == 10
        assert registry.get_sample_value("rollout_state", {"state": "progressing"}) == 1
        assert registry.get_sample_value("rollout_transitions_total", {"reason": "advance"}) == 1
    finally:
        await ext.stop()


@pytest.mark.anyio
async def test_unreadable_store_keeps_last_percent_and_says_so(parts):
    ext, store, _ = parts
    await ext.start(Aggregator())
    try:
        await ext_service(ext).apply(Start())
        await eventually(lambda: ext.current().percent == 5, what="percent 5")
        store.broken = True
        await eventually(lambda: ext.readiness()["store"] == "unreadable", what="unreadable")
        ready = ext.readiness()
        assert ready["ok"] is True and ready["percent"] == 5 and ready["stale_seconds"] >= 0
        assert ext.current().percent == 5  # fail-static
        store.broken = False
        await eventually(lambda: ext.readiness()["store"] == "ok", what="readable again")
    finally:
        await ext.stop()


@pytest.mark.anyio
async def test_flusher_appends_aggregates_and_keeps_them_while_store_is_down(parts):
    ext, store, _ = parts
    aggregator = Aggregator()
    await ext.start(aggregator)
    try:
        store.broken = True
        aggregator.record("canary", 500, 12.0, now=1000.2)
        aggregator.record("canary", 200, 8.0, now=1000.7)
        # A second refused append means the flusher found the rows again after the first one
        # failed: flush_once skips the store when there is nothing to drain, so without
        # Aggregator.restore the rows would be gone and this never happens.
        await eventually(lambda: store.failed["append_aggregates"] >= 2, what="a retried flush")
        await eventually(lambda: aggregator._buckets, what="rows put back")  # restored
        store.broken = False
        # Not "the buckets are empty": they are while a drained flush is still on its way.
        await eventually(lambda: store.done["append_aggregates"] >= 1, what="rows flushed")
        assert not aggregator._buckets
        (stats,) = store.inner.settled_series(1000, 1001)  # reading seals: only once flushed
        assert (stats.requests, stats.errors, stats.successes) == (2, 1, 1)
    finally:
        await ext.stop()


@pytest.mark.anyio
async def test_stop_flushes_what_is_left(parts):
    ext, store, _ = parts
    aggregator = Aggregator()
    await ext.start(aggregator)
    aggregator.record("legacy", 200, 3.0, now=50.0)
    await ext.stop()
    assert [r.requests for r in store.inner.settled_series(50, 51)] == [1]


def ext_service(ext: GatewayRollout):
    service = ext.admin._service()
    assert service is not None
    return service


def test_readyz_says_the_store_is_slow_while_another_process_holds_the_write_lock(tmp_path):
    """Real gateway, store opened from its URL: a flush waits on the lock, the poller behind it."""
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo",
        flush_interval_seconds=0.05, store_slow_read_seconds=0.2,
    )  # fmt: skip
    ext = GatewayRollout(settings, admin_token=None, registry=None, run_controller=False)
    upstream = Upstream("legacy")
    with serve_app(upstream.app) as upstream_url:
        gateway_settings = GatewaySettings(legacy_url=upstream_url, canary_url=upstream_url)
        app = create_app(gateway_settings, registry=CollectorRegistry(), rollout=ext)
        with serve_app(app, **server_options(gateway_settings)) as url:

            def routing() -> dict:
                return httpx.get(url + "/readyz").json()["checks"]["routing"]

            assert routing()["store"] == "ok"
            with write_locked(settings.sqlite_path):
                assert httpx.get(url + "/x").status_code == 200  # a row for the flusher
                wait_until(lambda: routing()["store"] == "slow", 10.0, "store: slow")
                ready = httpx.get(url + "/readyz").json()
                assert ready["ready"] is True  # fail-static: routing goes on at its last percent
                assert ready["checks"]["routing"]["read_seconds"] > 0.2
            wait_until(lambda: routing()["store"] == "ok", 10.0, "store: ok again")
