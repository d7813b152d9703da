"""rollout/store/sqlite.py: CAS under concurrent writers, restart, aggregates, lease."""

from __future__ import annotations

import threading

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState, Status
from rollout.store import Conflict, HistoryEntry, StoreBusy, StoreError, open_store
from rollout.store.sqlite import SqliteStore
from tests.rollout.helpers import write_locked


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "rollout.db")


def entry(verb: str, to_percent: int) -> HistoryEntry:
    return HistoryEntry(
        1.0, "tester", verb, "why", "idle", Status.PROGRESSING, 0, to_percent, {"n": 1}
    )


def row(second: int, target: str, requests: int, errors: int, latency_ms: float) -> TargetSecond:
    hist = LatencyHistogram()
    hist.add(latency_ms, requests)
    return TargetSecond(second, target, requests, errors, requests - errors, hist)


def test_fresh_store_is_idle_at_zero(path):
    stored = SqliteStore(path).read()
    assert (stored.state.status, stored.state.percent, stored.version) == ("idle", 0, 0)


def test_two_concurrent_writers_exactly_one_wins(path):
    stores = [SqliteStore(path), SqliteStore(path)]  # two "processes" on one file
    barrier = threading.Barrier(2)
    results: list[object] = []

    def write(store: SqliteStore, percent: int) -> None:
        barrier.wait()
        try:
            results.append(
                store.compare_and_set(
                    0, RolloutState(Status.PROGRESSING, percent, 0), [entry("s", 5)], 2
                )
            )
        except Conflict as exc:
            results.append(exc)

    threads = [
        threading.Thread(target=write, args=(s, p)) for s, p in zip(stores, (5, 10), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(results) == 2 and len(conflicts) == 1
    assert conflicts[0].current.version == 1
    assert "version 1" in str(conflicts[0]) and Status.PROGRESSING in str(conflicts[0])
    assert len(stores[0].history()) == 1  # the loser wrote no history either


def test_restart_keeps_state_history_and_verdict(path):
    store = SqliteStore(path)
    state = RolloutState(Status.PROGRESSING, 25, 2, "salt", 10.0, 20.0)
    store.compare_and_set(0, state, [entry("start", 5), entry("advance", 25)], 30.0)
    store.record_verdict({"verdict": "healthy"})
    store.close()
    reopened = SqliteStore(path)
    stored = reopened.read()
    assert (stored.state, stored.version, stored.updated_at) == (state, 1, 30.0)
    assert [e.verb for e in reopened.history()] == ["advance", "start"]  # newest first
    assert reopened.history(1)[0].details == {"n": 1}
    assert reopened.last_verdict() == {"verdict": "healthy"}


def canary_sum(store: SqliteStore, since: int, until: int) -> TargetSecond:
    total = TargetSecond(since, "canary")
    for r in store.settled_series(since, until):
        if r.target == "canary":
            total.merge(r)
    return total


def test_settled_series_sums_rows_and_merges_histograms(path):
    store = SqliteStore(path)
    store.append_aggregates([row(100, "canary", 10, 1, 50.0), row(100, "legacy", 90, 0, 5.0)])
    store.append_aggregates([row(100, "canary", 10, 1, 50.0), row(101, "canary", 20, 10, 900.0)])
    store.append_aggregates([row(102, "canary", 5, 5, 1.0)])
    stats = canary_sum(store, 100, 102)  # [100, 102): the 102 row is outside
    assert (stats.requests, stats.errors, stats.successes) == (40, 12, 28)
    assert stats.latency.total == 40
    assert stats.latency.quantile(0.5) == pytest.approx(50.0, rel=0.02)
    assert stats.latency.quantile(0.95) == pytest.approx(900.0, rel=0.02)
    legacy = [r for r in store.settled_series(0, 1000) if r.target == "legacy"]
    assert sum(r.requests for r in legacy) == 90


def test_seconds_merges_every_process_rows_per_second_in_order(path):
    a, b = SqliteStore(path), SqliteStore(path)  # two gateway processes flushing
    a.append_aggregates([row(101, "canary", 4, 1, 100.0), row(100, "canary", 2, 0, 10.0)])
    b.append_aggregates([row(101, "canary", 6, 3, 300.0), row(101, "legacy", 50, 0, 5.0)])
    b.append_aggregates([row(99, "canary", 1, 1, 1.0), row(103, "canary", 1, 0, 1.0)])
    got = a.seconds("canary", 100, 103)  # 99 and 103 are outside [100, 103)
    assert [(r.second, r.target, r.requests, r.errors, r.successes) for r in got] == [
        (100, "canary", 2, 0, 2),
        (101, "canary", 10, 4, 6),
    ]
    assert got[1].latency.total == 10  # histograms merged too
    assert got[1].latency.quantile(1.0) == pytest.approx(300.0, rel=0.02)
    assert a.seconds("baseline", 0, 10**6) == []


def test_prune_drops_only_old_rows(path):
    store = SqliteStore(path)
    store.append_aggregates([row(s, "canary", 1, 0, 1.0) for s in range(100, 110)])
    assert store.prune(105) == 5
    assert canary_sum(store, 0, 10_000).requests == 5


def test_lease_is_exclusive_until_it_expires(path):
    a, b = SqliteStore(path), SqliteStore(path)
    assert a.acquire_lease("a", 10, now=0)
    assert not b.acquire_lease("b", 10, now=5)
    assert a.acquire_lease("a", 10, now=8)  # renew: now valid until 18
    assert not b.acquire_lease("b", 10, now=17)
    assert b.acquire_lease("b", 10, now=18.5)  # expired: taken over
    assert not a.acquire_lease("a", 10, now=19)
    b.release_lease("b")
    assert a.acquire_lease("a", 10, now=20)


def test_open_store_by_url_and_unopenable_path(tmp_path):
    assert isinstance(open_store(f"sqlite:///{tmp_path}/x.db"), SqliteStore)
    with pytest.raises(StoreError, match="cannot open"):
        SqliteStore(str(tmp_path / "missing-dir" / "x.db"))
    with pytest.raises(StoreError, match="unsupported"):
        open_store("redis://localhost")


def test_settled_series_merges_processes_per_second_and_series(path):
    store = SqliteStore(path)
    a = row(100, "canary", 10, 1, 50.0)
    a.started, a.inflight = 12, LatencyHistogram({3: 2})
    store.append_aggregates([a, row(100, "baseline", 90, 1, 5.0)])
    store.append_aggregates([row(100, "canary", 5, 0, 50.0), row(101, "canary", 7, 7, 9.0)])
    rows = store.settled_series(100, 102)
    assert [(r.second, r.target, r.requests, r.errors) for r in rows] == [
        (100, "baseline", 90, 1),
        (100, "canary", 15, 1),
        (101, "canary", 7, 7),
    ]
    assert (rows[1].started, rows[1].inflight.counts) == (12, {3: 2})


def test_rows_arriving_after_their_second_was_settled_are_kept_apart(path):
    store = SqliteStore(path)
    store.append_aggregates([row(100, "canary", 10, 0, 5.0)])
    first = store.settled_series(100, 101)
    store.append_aggregates([row(100, "canary", 10, 10, 5.0), row(101, "canary", 3, 0, 5.0)])
    assert store.settled_series(100, 101) == first  # a settled second never changes
    assert [r.requests for r in store.settled_series(100, 102)] == [10, 3]
    store.settled_series(0, 50)  # reading an older range never moves the horizon back
    store.append_aggregates([row(101, "canary", 1, 0, 5.0)])
    assert [r.requests for r in store.settled_series(101, 102)] == [3]


def test_late_rows_are_stamped_with_the_horizon_and_handed_out_once_per_range(path):
    store = SqliteStore(path)
    store.settled_series(100, 101)  # horizon 101: second 100 is settled
    store.append_aggregates([row(100, "canary", 10, 10, 5.0), row(100, "canary", 2, 0, 5.0),
                             row(100, "baseline", 9, 0, 5.0)])  # fmt: skip
    store.settled_series(101, 103)  # horizon 103
    store.append_aggregates([row(101, "canary", 4, 1, 5.0), row(103, "canary", 1, 0, 5.0)])
    assert store.late_series(0, 101) == []  # nothing was folded before 101
    late = store.late_series(101, 103)  # fold seconds 101 and 102
    seen = [(r.fold_second, r.row.second, r.row.target, r.row.requests, r.row.errors) for r in late]
    assert seen == [(101, 100, "baseline", 9, 0), (101, 100, "canary", 12, 10)]
    assert [(r.fold_second, r.row.second) for r in store.late_series(103, 104)] == [(103, 101)]
    assert store.settled_series(103, 104)[0].requests == 1  # 103 was not settled yet: on time
    assert [r.requests for r in store.settled_series(100, 102)] == []  # never in the series


def test_older_files_get_the_new_columns(path):
    import sqlite3

    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE rollout_aggregates (second INTEGER NOT NULL, target TEXT NOT NULL,"
        " requests INTEGER NOT NULL, errors INTEGER NOT NULL, successes INTEGER NOT NULL,"
        " latency TEXT NOT NULL)"
    )
    db.execute("INSERT INTO rollout_aggregates VALUES (5, 'canary', 2, 1, 1, '{}')")
    db.commit()
    db.close()
    store = SqliteStore(path)
    assert [(r.requests, r.started) for r in store.settled_series(0, 10)] == [(2, 0)]


def test_a_writer_locked_out_past_its_wait_gets_store_busy_and_changes_nothing(path):
    store = SqliteStore(path, wait_seconds=0.1)
    state = RolloutState(status=Status.PROGRESSING, stage_index=0, percent=5)
    with write_locked(path):
        with pytest.raises(StoreBusy, match="locked by another writer"):
            store.compare_and_set(0, state, [entry("start", 5)], now=1.0)
        with pytest.raises(StoreBusy):
            store.append_aggregates([row(10, "canary", 1, 0, 5.0)])
        assert store.read().version == 0  # WAL: reads go on while another process writes
    assert store.history() == [] and store.settled_series(0, 100) == []
    assert store.compare_and_set(0, state, [entry("start", 5)], now=1.0).version == 1


def test_open_store_passes_the_wait_to_the_implementation(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/w.db", wait_seconds=0.25)
    assert isinstance(store, SqliteStore) and store.wait_seconds == 0.25
    with write_locked(store.path), pytest.raises(StoreBusy, match=r"waited 0\.25 s"):
        store.record_verdict({"verdict": "healthy"})
