"""The store contract (rollout/store/interface.py), run against every implementation: SQLite and
a real Redis. A new store object on the same URL (and prefix) stands for another process or a
restart."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState, Status
from rollout.store import Conflict, HistoryEntry
from tests.support.redis_server import until_subscribed
from tests.support.servers import wait_until

PROGRESSING = RolloutState(Status.PROGRESSING, 5, 0)


def entry(verb: str, to_percent: int, at: float = 1.0) -> HistoryEntry:
    return HistoryEntry(
        at, "tester", verb, "why", "idle", Status.PROGRESSING, 0, to_percent, {"n": to_percent}
    )


def row(second: int, target: str, requests: int, errors: int, latency_ms: float) -> TargetSecond:
    hist = LatencyHistogram()
    hist.add(latency_ms, requests)
    return TargetSecond(second, target, requests, errors, requests - errors, hist)


def canary_sum(store, since: int, until: int) -> TargetSecond:
    total = TargetSecond(since, "canary")
    for r in store.settled_series(since, until):
        if r.target == "canary":
            total.merge(r)
    return total


def test_a_fresh_store_is_idle_at_zero_with_nothing_in_it(opener):
    store = opener()
    stored = store.read()
    assert (stored.state, stored.version, stored.updated_at) == (RolloutState(), 0, None)
    assert store.history() == [] and store.last_verdict() is None
    assert store.settled_series(0, 10**6) == [] and store.late_series(0, 10**6) == []


def test_concurrent_writers_with_the_same_version_exactly_one_wins(opener):
    stores = [opener() for _ in range(4)]  # four "processes"
    barrier = threading.Barrier(len(stores))
    results: list[object] = []

    def write(store, percent: int) -> None:
        barrier.wait()
        try:
            state = RolloutState(Status.PROGRESSING, percent, 0)
            results.append(store.compare_and_set(0, state, [entry("start", percent)], 2.0))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=write, args=(s, 5 + i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if not isinstance(r, Conflict)]
    assert len(results) == 4 and len(winners) == 1 and len(conflicts) == 3
    won = winners[0]
    assert all(c.current == won for c in conflicts)  # the loser learns what is there now
    assert "version 1" in str(conflicts[0]) and Status.PROGRESSING in str(conflicts[0])
    history = stores[0].history()
    assert [e.to_percent for e in history] == [won.state.percent]  # losers wrote no history


def test_history_is_append_only_newest_first_with_increasing_ids(opener):
    store = opener()
    version = 0
    for i, percent in enumerate((5, 10, 25)):
        stored = store.compare_and_set(
            version, RolloutState(Status.PROGRESSING, percent, i), [entry("advance", percent)], i
        )
        version = stored.version
    store.compare_and_set(version, RolloutState(), [entry("rollback", 0), entry("note", 0)], 9)
    history = store.history()
    assert [e.to_percent for e in history] == [0, 0, 25, 10, 5]
    assert [e.verb for e in history[:2]] == ["note", "rollback"]  # one write keeps its order
    ids = [e.id for e in history]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert [e.to_percent for e in store.history(2)] == [0, 0]
    assert store.history(2)[0].id == ids[0]
    assert store.history(1)[0].details == {"n": 0}


def test_a_restart_keeps_state_history_verdict_and_aggregates(opener):
    store = opener()
    state = RolloutState(Status.PROGRESSING, 25, 2, "salt", 10.0, 20.0, None, 21.5)
    store.compare_and_set(0, state, [entry("start", 5, 1.25), entry("advance", 25, 2.5)], 30.5)
    store.record_verdict({"verdict": "healthy", "numbers": [1, 2.5]})
    store.append_aggregates([row(100, "canary", 3, 1, 20.0)])
    store.close()
    reopened = opener()
    stored = reopened.read()
    assert (stored.state, stored.version, stored.updated_at) == (state, 1, 30.5)
    assert [(e.verb, e.at) for e in reopened.history()] == [("advance", 2.5), ("start", 1.25)]
    assert reopened.last_verdict() == {"verdict": "healthy", "numbers": [1, 2.5]}
    assert canary_sum(reopened, 100, 101).requests == 3


def test_aggregates_from_several_writers_sum_exactly(opener):
    writers = [opener() for _ in range(3)]  # three gateway processes flushing the same seconds
    rounds = 20

    def flush(store) -> None:
        for _ in range(rounds):
            a = row(100, "canary", 2, 1, 50.0)
            a.started, a.inflight = 3, LatencyHistogram({7: 1})
            store.append_aggregates(
                [a, row(100, "legacy", 5, 0, 5.0), row(101, "canary", 1, 0, 900.0)]
            )

    threads = [threading.Thread(target=flush, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    n = rounds * len(writers)
    rows = opener().settled_series(100, 102)
    assert [(r.second, r.target) for r in rows] == [
        (100, "canary"),
        (100, "legacy"),
        (101, "canary"),
    ]
    canary, legacy, later = rows
    assert (canary.requests, canary.errors, canary.successes) == (2 * n, n, n)
    assert (canary.started, canary.inflight.counts) == (3 * n, {7: n})
    assert canary.latency.total == 2 * n and legacy.requests == 5 * n
    assert canary.latency.quantile(0.5) == pytest.approx(50.0, rel=0.02)  # histograms merged
    assert later.latency.quantile(1.0) == pytest.approx(900.0, rel=0.02)


def test_settled_series_merges_per_second_and_series_in_order(opener):
    store = opener()
    store.append_aggregates([row(101, "canary", 7, 7, 9.0), row(100, "canary", 10, 1, 50.0)])
    store.append_aggregates([row(100, "baseline", 90, 1, 5.0), row(102, "canary", 5, 5, 1.0)])
    store.append_aggregates([row(99, "canary", 1, 0, 1.0)])
    rows = store.settled_series(100, 102)  # [100, 102): 99 and 102 are outside
    assert [(r.second, r.target, r.requests, r.errors) for r in rows] == [
        (100, "baseline", 90, 1),
        (100, "canary", 10, 1),
        (101, "canary", 7, 7),
    ]


def test_a_settled_second_never_changes_and_late_rows_are_kept_apart(opener):
    store = opener()
    store.append_aggregates([row(100, "canary", 10, 0, 5.0)])
    first = store.settled_series(100, 101)
    other = opener()  # another process, flushing late
    other.append_aggregates([row(100, "canary", 10, 10, 5.0), row(101, "canary", 3, 0, 5.0)])
    assert store.settled_series(100, 101) == first
    assert [r.requests for r in store.settled_series(100, 102)] == [10, 3]
    store.settled_series(0, 50)  # reading an older range never moves the horizon back
    other.append_aggregates([row(101, "canary", 1, 0, 5.0)])
    assert [r.requests for r in store.settled_series(101, 102)] == [3]


def test_late_rows_carry_the_horizon_and_are_handed_out_once_per_range(opener):
    store = opener()
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


def test_seconds_reads_one_series_late_rows_included_without_settling(opener):
    a, b = opener(), opener()
    a.append_aggregates([row(101, "canary", 4, 1, 100.0), row(100, "canary", 2, 0, 10.0)])
    b.append_aggregates([row(101, "canary", 6, 3, 300.0), row(101, "legacy", 50, 0, 5.0)])
    b.append_aggregates([row(99, "canary", 1, 1, 1.0), row(103, "canary", 1, 0, 1.0)])
    a.settled_series(0, 102)
    b.append_aggregates([row(101, "canary", 5, 0, 1.0)])  # late, still served
    got = a.seconds("canary", 100, 103)
    assert [(r.second, r.requests, r.errors, r.successes) for r in got] == [
        (100, 2, 0, 2),
        (101, 15, 4, 11),
    ]
    assert got[1].latency.quantile(1.0) == pytest.approx(300.0, rel=0.02)
    assert a.seconds("baseline", 0, 10**6) == []
    a.append_aggregates([row(102, "canary", 1, 0, 1.0)])
    assert a.late_series(0, 10**6)[-1].row.requests == 5  # seconds() settled nothing


def test_prune_drops_only_old_rows_late_ones_too(opener):
    store = opener()
    store.append_aggregates([row(s, "canary", 1, 0, 1.0) for s in range(100, 110)])
    assert store.prune(105) == 5
    assert canary_sum(store, 0, 10_000).requests == 5
    store.append_aggregates([row(104, "canary", 1, 0, 1.0), row(200, "canary", 1, 0, 1.0)])
    assert [r.row.second for r in store.late_series(0, 10**6)] == [104, 200]  # late: settled
    assert store.prune(105) == 1  # the late row of second 104
    assert [r.row.second for r in store.late_series(0, 10**6)] == [200]
    assert store.seconds("canary", 0, 10**6)[0].second == 105


def test_a_batch_appended_twice_counts_once_and_different_batches_both_count(opener):
    store, other = opener(), opener()  # other: the same store from another process
    batch = [row(100, "canary", 3, 1, 5.0), row(101, "canary", 2, 0, 5.0)]
    store.append_aggregates(batch, "proc-a-1")
    store.append_aggregates(batch, "proc-a-1")  # resent after a send that landed
    other.append_aggregates(batch[1:], "proc-a-1")  # resent smaller (trimmed): still applied
    assert [r.requests for r in store.seconds("canary", 0, 1000)] == [3, 2]  # settles nothing
    store.append_aggregates([row(100, "canary", 4, 0, 5.0)], "proc-a-2")
    other.append_aggregates([row(100, "canary", 1, 0, 5.0)], "proc-b-1")
    store.append_aggregates([row(102, "canary", 6, 0, 5.0)])  # no id: always appended
    store.append_aggregates([row(102, "canary", 6, 0, 5.0)])
    store.settled_series(0, 101)  # 100 is settled: a resend of a new batch there is late
    store.append_aggregates([row(100, "canary", 7, 0, 5.0)], "proc-a-3")
    store.append_aggregates([row(100, "canary", 7, 0, 5.0)], "proc-a-3")
    assert [r.requests for r in store.seconds("canary", 0, 1000)] == [3 + 4 + 1 + 7, 2, 12]
    assert [r.row.requests for r in store.late_series(0, 10**6)] == [7]
    assert [r.requests for r in store.settled_series(0, 101)] == [3 + 4 + 1]


def test_an_applied_batch_id_outlives_prune_within_its_ttl(opener):
    store = opener()
    store.append_aggregates([row(100, "canary", 3, 1, 5.0)], "proc-a-1")
    store.prune(50)  # pruning old rows keeps the ids of batches applied within the TTL
    store.append_aggregates([row(100, "canary", 3, 1, 5.0)], "proc-a-1")
    assert canary_sum(store, 0, 1000).requests == 3


def test_the_lease_is_exclusive_renewable_and_taken_over_once_expired(opener):
    a, b = opener(), opener()
    assert a.acquire_lease("a", 0.4, now=time.time())
    assert not b.acquire_lease("b", 0.4, now=time.time())
    assert a.acquire_lease("a", 0.4, now=time.time())  # renewed by its holder
    wait_until(lambda: b.acquire_lease("b", 30, now=time.time()), 10, "the lease to expire")
    assert not a.acquire_lease("a", 30, now=time.time())  # b holds it now
    a.release_lease("a")  # not the holder: nothing happens
    assert not a.acquire_lease("a", 30, now=time.time())
    b.release_lease("b")
    assert a.acquire_lease("a", 30, now=time.time())


def test_a_change_feed_delivers_each_committed_version(opener):
    store = opener()
    feed = store.change_feed()
    if opener.kind == "sqlite":
        assert feed is None  # one host: every process polls the file
        return
    assert feed is not None

    async def scenario() -> list[int]:
        got: list[int] = []

        async def listen() -> None:
            async for version in feed.changes():
                got.append(version)
                if len(got) == 2:
                    return

        task = asyncio.create_task(listen())
        await until_subscribed(feed)
        writer = opener()
        deadline = time.monotonic() + 10
        version = 0
        while not got and time.monotonic() < deadline:  # until the subscription is live
            version = (
                await asyncio.to_thread(writer.compare_and_set, version, PROGRESSING, [], 1)
            ).version
            await asyncio.sleep(0.05)
        version = (
            await asyncio.to_thread(writer.compare_and_set, version, RolloutState(), [], 2)
        ).version
        await asyncio.wait_for(task, 10)
        await feed.aclose()
        return [*got, version]

    got = asyncio.run(scenario())
    assert got[1] == got[0] + 1 and got[-1] >= got[1]


def test_a_closed_change_feed_ends_its_iterations(opener):
    store = opener()
    feed = store.change_feed()
    if feed is None:  # SQLite, which polls: nothing to close
        assert type(store).__name__ == "SqliteStore"
        return

    async def scenario() -> None:
        async def listen() -> list[int]:
            return [v async for v in feed.changes()]

        task = asyncio.create_task(listen())
        await until_subscribed(feed)
        await feed.aclose()
        assert await asyncio.wait_for(task, 5) == []

    asyncio.run(scenario())


def test_long_ranges_with_gaps_are_read_whole_and_many_rows_pruned(opener):
    store = opener()
    seconds = [0, 299, 300, 301, 5_000, 86_400 * 7, 10**9]
    store.append_aggregates([row(s, "canary", 1, 0, 1.0) for s in seconds])
    store.append_aggregates([row(s, "legacy", 1, 0, 1.0) for s in range(10_000, 14_500)])
    assert [r.second for r in store.seconds("canary", 0, 2 * 10**9)] == seconds
    rows = store.settled_series(0, 2 * 10**9)
    assert len(rows) == len(seconds) + 4_500
    store.append_aggregates([row(s, "canary", 2, 0, 1.0) for s in seconds])  # all late now
    assert [r.row.second for r in store.late_series(0, 3 * 10**9)] == seconds
    assert store.prune(20_000) == 5 + 4_500 + 5  # more than one batch of rows, and late rows
    assert [r.second for r in store.seconds("canary", 0, 2 * 10**9)] == seconds[-2:]
