"""bench/store.py, small: the flush it times is the real one (every process's rows land and
sum), and its percentiles pick the right samples."""

from __future__ import annotations

from bench.store import SERIES, flush_cost, percentile, realistic_second
from rollout.store import open_store


def test_the_timed_flushes_write_every_process_rows(tmp_path):
    stores = [open_store(f"sqlite:///{tmp_path}/b.db", prefix="ignored:") for _ in range(3)]
    cost = flush_cost(stores, 2)
    assert set(cost) == {"wall_ms", "p99_ms", "cpu_ms", "server_cpu_ms"}
    assert cost["server_cpu_ms"] == 0.0  # no Redis: no server to ask
    rows = stores[0].settled_series(0, 2**40)
    one = realistic_second(0, "canary")
    assert [(r.target, r.requests) for r in rows[:3]] == sorted(
        (name, 3 * one.requests) for name in SERIES
    )
    assert rows[0].latency.total == 3 * one.latency.total
    for store in stores:
        store.close()


def test_percentile_is_nearest_rank_from_below():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([3.0], 0.99)) == (
        51.0,
        100.0,
        3.0,
    )
