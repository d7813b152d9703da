"""rollout/flusher.py on a real SQLite store that refuses writes while `broken`: rows wait,
the oldest go past the bound (counted, one log line per episode), the rest land oldest first."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from gateway.aggregate import Aggregator
from rollout.flusher import Flusher
from rollout.metrics import RolloutMetrics
from rollout.store.interface import StoreError
from rollout.store.sqlite import SqliteStore
from tests.rollout.helpers import FlakyStore
from tests.support.logs import captured_logs

T0 = 1_000_000


@pytest.mark.anyio
async def test_an_outage_past_the_bound_drops_the_oldest_once_logged_then_flushes_the_rest(
    tmp_path,
):
    registry = CollectorRegistry()
    flusher = Flusher(buffer_seconds=3, metrics=RolloutMetrics(registry))
    store = FlakyStore(SqliteStore(f"{tmp_path}/r.db"), kind="io")
    aggregator = Aggregator()
    store.broken = True
    with captured_logs() as logs:
        for second in range(T0, T0 + 8):  # eight seconds of one request each, store down
            aggregator.record("canary", 200, 5.0, now=second + 0.5)
            await flusher.flush(aggregator, store, now=second + 0.9)
        assert flusher.pending_rows == 4  # the bound: seconds T0+4 .. T0+7 (now - 3 and after)
        store.broken = False
        await flusher.flush(aggregator, store, now=T0 + 8.0)
    assert flusher.pending_rows == 0
    assert registry.get_sample_value("rollout_aggregates_dropped_total") == 4
    assert registry.get_sample_value("rollout_aggregates_buffered") == 0
    seconds = [r.second for r in store.inner.seconds("canary", T0, T0 + 8)]
    assert seconds == list(range(T0 + 4, T0 + 8))
    events = [e["event"] for e in logs if e["event"] != "rollout.flush_failed"]
    assert events == ["rollout.aggregates_dropped", "rollout.buffer_flushed"]
    failed = [e for e in logs if e["event"] == "rollout.flush_failed"]
    assert len(failed) == 8 and {e["kind"] for e in failed} == {"io"}


class LostReplies:
    """A real store whose appends land but answer with a timeout while `losing` is set: what a
    frozen Redis or a network stall does to a write that reached the server."""

    def __init__(self, inner) -> None:
        self.inner, self.losing, self.lost = inner, True, 0

    def append_aggregates(self, rows, batch_id=None) -> None:
        self.inner.append_aggregates(rows, batch_id)
        if self.losing:
            self.lost += 1
            raise StoreError("no reply (injected)", kind="timeout")


@pytest.mark.anyio
async def test_a_flush_that_landed_but_timed_out_is_resent_under_its_id_and_counts_once(tmp_path):
    registry = CollectorRegistry()
    flusher = Flusher(buffer_seconds=900, metrics=RolloutMetrics(registry))
    store = LostReplies(SqliteStore(f"{tmp_path}/r.db"))
    aggregator = Aggregator()
    for second in range(T0, T0 + 4):  # every send lands, none is known to: resent each time
        aggregator.record("canary", 200, 5.0, now=second + 0.5)
        await flusher.flush(aggregator, store, now=second + 1.5)
    assert store.lost == 4 and flusher.pending_rows == 4
    store.losing = False
    await flusher.flush(aggregator, store, now=T0 + 5.0)
    assert flusher.pending_rows == 0
    assert [r.requests for r in store.inner.seconds("canary", T0, T0 + 8)] == [1, 1, 1, 1]
    assert registry.get_sample_value("rollout_aggregates_dropped_total") == 0
