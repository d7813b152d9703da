"""rollout/store/sqlite.py beyond the shared contract (test_contract.py): the caller's clock for
the lease, older files, SQLite's write lock and `wait_seconds`."""

from __future__ import annotations

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState, Status
from rollout.store import HistoryEntry, StoreBusy, StoreError, open_store
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
        open_store("postgres://localhost/x")


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


def test_from_url_accepts_and_ignores_the_network_stores_options(tmp_path):
    from rollout.settings import RolloutSettings

    settings = RolloutSettings(store_url=f"sqlite:///{tmp_path}/o.db")
    store = open_store(settings.store_url, **settings.store_options(0.5))
    assert isinstance(store, SqliteStore) and store.wait_seconds == 0.5
