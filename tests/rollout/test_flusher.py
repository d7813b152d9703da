"""rollout/flusher.py on a real SQLite store that refuses writes while `broken`: rows wait,
the oldest go past the bound (counted, one log line per episode), the rest land oldest first."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from gateway.aggregate import Aggregator
from rollout.flusher import Flusher
from rollout.metrics import RolloutMetrics
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
