"""rollout/extension.py: polling, flushing, fail-static on an unreadable store, metrics."""

from __future__ import annotations

import time

import httpx
import pytest
import structlog
from prometheus_client import CollectorRegistry

from gateway.aggregate import Aggregator, LatencyHistogram, TargetSecond
from gateway.app import create_app
from gateway.server import server_options
from gateway.settings import GatewaySettings
from rollout.extension import GatewayRollout
from rollout.machine import Advance, Pause, Start
from rollout.service import RolloutService
from rollout.settings import RolloutSettings
from rollout.store import Conflict
from rollout.store.sqlite import SqliteStore
from rollout.wiring import build_machine
from tests.gateway.upstreams import Upstream
from tests.rollout.helpers import (
    ADMIN,
    FlakyStore,
    eventually,
    gateway,
    requests_in_store,
    routing_check,
    target_of,
    write_locked,
)
from tests.support.logs import captured_logs
from tests.support.servers import serve_app, wait_until


@pytest.fixture
def parts(tmp_path):
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db",
        profile="demo",
        poll_interval_seconds=0.02,
        flush_interval_seconds=0.02,
    )
    store = FlakyStore(SqliteStore(settings.sqlite_path), kind="io")
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
        assert ready["error"] == "io" and "injected" not in str(ready)  # the kind, never the text
        assert ext.current().percent == 5  # fail-static
        store.broken = False
        await eventually(lambda: ext.readiness()["store"] == "ok", what="readable again")
        assert "error" not in ext.readiness()
    finally:
        await ext.stop()


@pytest.mark.anyio
async def test_flusher_appends_aggregates_and_keeps_them_while_store_is_down(parts):
    ext, store, _ = parts
    aggregator = Aggregator()
    await ext.start(aggregator)
    second = int(time.time()) - 5  # recent: well within ROLLOUT_BUFFER_SECONDS
    try:
        store.broken = True
        aggregator.record("canary", 500, 12.0, now=second + 0.2)
        aggregator.record("canary", 200, 8.0, now=second + 0.7)
        # A second refused append means the flusher found the rows again after the first one
        # failed: flush_once skips the store when there is nothing to flush, so without the
        # buffer keeping them the rows would be gone and this never happens.
        await eventually(lambda: store.failed["append_aggregates"] >= 2, what="a retried flush")
        assert ext.readiness()["buffered_rows"] == 1
        store.broken = False
        await eventually(lambda: ext.readiness()["buffered_rows"] == 0, what="rows flushed")
        assert store.done["append_aggregates"] >= 1
        (stats,) = store.inner.settled_series(second, second + 1)  # reading seals: once flushed
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


def test_the_process_that_commits_a_verb_routes_by_it_before_it_answers(tmp_path):
    """Read-your-writes: no request after the verb's answer sees the old percent. The poller
    runs every 0.5 s, so without the swap the request right after the answer (a few ms later)
    would see the old percent in nearly every round."""
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo", poll_interval_seconds=0.5
    )
    with gateway(settings, run_controller=False) as (client, _ext):
        for _ in range(5):
            assert client.post("/admin/rollout/start", headers=ADMIN).status_code == 200
            assert target_of(client) == "canary"
            rolled = client.post("/admin/rollout/rollback", headers=ADMIN, json={"reason": "t"})
            assert rolled.status_code == 200 and rolled.json()["state"] == "rolled_back"
            assert target_of(client) == "legacy"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_the_controller_swaps_routing_before_it_logs_or_notifies_a_rollback(tmp_path):
    """The real controller judges scripted rows into a breach; at the moment its
    `rollout.rolled_back` line is logged and its notification sent, routing is already 0 %."""
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo", settle_seconds=0,
        poll_interval_seconds=0.5, flush_interval_seconds=0.02,
    )  # fmt: skip
    clock, store = Clock(10_000.0), SqliteStore(settings.sqlite_path)
    seen: dict[str, int] = {}

    class Notifier:  # the notifier is a seam (a webhook in production)
        def notify(self, kind: str, payload: dict) -> None:
            seen.setdefault(f"notify:{kind}", ext.current().percent)

        async def aclose(self) -> None:
            return None

    def at_log_time(_logger, _method, event: dict) -> dict:
        if event["event"] == "rollout.rolled_back":
            seen.setdefault("log", ext.current().percent)
        return event

    ext = GatewayRollout(
        settings, admin_token=None, registry=None, store=store, clock=clock, notifier=Notifier()
    )
    with captured_logs() as logs:
        structlog.configure(processors=[at_log_time, *structlog.get_config()["processors"]])
        await ext.start(Aggregator())
        try:
            await ext_service(ext).apply(Start())
            await eventually(lambda: ext.current().percent == 5, what="percent 5")
            clock.now += 30
            store.append_aggregates(breach_rows(int(clock.now) - 30, int(clock.now)))
            await eventually(lambda: "log" in seen, what="the controller's rollback")
        finally:
            await ext.stop()
    assert seen["log"] == 0 and seen.get("notify:rollback", 0) == 0
    assert any(e["event"] == "rollout.rolled_back" for e in logs)


def breach_rows(since: int, until: int) -> list[TargetSecond]:
    """20 % canary errors against the baseline's 1 %, ten and a hundred requests a second."""
    rows = []
    for second in range(since, until):
        for series, n, errors in (("canary", 10, 2), ("baseline", 100, 1)):
            latency = LatencyHistogram()
            latency.add(50.0, n)
            rows.append(TargetSecond(second, series, n, errors, n - errors, latency, n))
    return rows


@pytest.mark.parametrize("outage", ["short", "past the buffer"])
def test_a_locked_store_keeps_routing_and_every_request_it_can_hold(tmp_path, outage):
    """A real lock (another connection holds SQLite's write lock): flushes fail, requests still
    route at the last percent and verbs answer 503 at once; after the release every request
    is in the store, unless the outage outlasted ROLLOUT_BUFFER_SECONDS: then the oldest
    seconds are dropped, and counted."""
    buffer_seconds = 900 if outage == "short" else 1
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo", poll_interval_seconds=0.05,
        flush_interval_seconds=0.05, store_wait_seconds=0.1, admin_store_wait_seconds=0.2,
        buffer_seconds=buffer_seconds,
    )  # fmt: skip
    registry = CollectorRegistry()
    with gateway(settings, registry, run_controller=False) as (client, _ext):
        assert routing_check(client)["push"] == "none"  # SQLite: the poller alone
        assert client.post("/admin/rollout/start", headers=ADMIN).status_code == 200
        # Every request of the outage in one second: were they to straddle a boundary, the
        # rows of the second one could be flushed after the release before they age out.
        wait_until(lambda: time.time() % 1 < 0.5, 2.0, "the start of a second")
        first, sent = int(time.time()), 0
        with write_locked(settings.sqlite_path):
            for user in ("user_19", "alice") * 5:
                assert target_of(client, user) == ("canary" if user == "user_19" else "legacy")
                sent += 1
            verb = client.post("/admin/rollout/pause", headers=ADMIN)
            assert (verb.status_code, verb.json()["code"]) == (503, "store_busy")
            wait_until(lambda: routing_check(client)["buffered_rows"] > 0, 5.0, "rows held")
            if outage != "short":  # outlast the bound, then a request of a newer second
                wait_until(lambda: time.time() >= first + buffer_seconds + 2, 5.0, "the bound")
                assert target_of(client) == "canary"
                sent += 1
                wait_until(lambda: dropped(registry) > 0, 5.0, "a drop")
        expected = sent if outage == "short" else 1  # past the bound: only the last request

        def stored() -> int:
            return requests_in_store(settings.store_url, first - 1, int(time.time()) + 2)

        wait_until(lambda: stored() == expected, 10.0, f"{expected} requests in the store")
        wait_until(lambda: routing_check(client)["buffered_rows"] == 0, 10.0, "all flushed")
        assert stored() == expected
    if outage == "short":
        assert dropped(registry) == 0
    else:
        assert dropped(registry) >= 2  # the first second's rows: canary, legacy, baseline


def dropped(registry: CollectorRegistry) -> float:
    return registry.get_sample_value("rollout_aggregates_dropped_total") or 0.0


@pytest.mark.anyio
async def test_a_verb_that_loses_to_another_writer_routes_by_the_winner_at_once(tmp_path):
    """The 409 names the state another process committed; this process routes by it too,
    without waiting for its next poll (0.5 s)."""
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo", poll_interval_seconds=0.5
    )
    ext = GatewayRollout(settings, admin_token=None, registry=None, run_controller=False)
    await ext.start(Aggregator())
    other = SqliteStore(settings.sqlite_path)  # another process
    try:
        seen = ext.current().version
        winner = await RolloutService(other, build_machine(settings), clock=time.time).apply(
            Start()
        )
        with pytest.raises(Conflict):
            await ext_service(ext).apply(Pause(), expected_version=seen)
        assert (ext.current().version, ext.current().percent) == (winner.version, 5)
    finally:
        await ext.stop()
        other.close()
