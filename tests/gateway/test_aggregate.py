"""gateway/aggregate.py: series rows, the in-flight ages at every second, the crossing identity."""

from __future__ import annotations

import pytest

from gateway.aggregate import Aggregator, LatencyHistogram


def rows_by_key(rows):
    return {(r.second, r.target): r for r in rows}


def test_record_counts_in_every_series_given():
    agg = Aggregator()
    agg.record("legacy", 200, 5.0, 100.2, ("legacy", "baseline"))
    agg.record("legacy", 503, 5.0, 100.7)
    rows = rows_by_key(agg.drain())
    assert (rows[100, "legacy"].requests, rows[100, "legacy"].errors) == (2, 1)
    assert (rows[100, "baseline"].requests, rows[100, "baseline"].errors) == (1, 0)


def test_inflight_ages_are_written_once_per_second_boundary():
    agg = Aggregator()
    slow = agg.depart(("canary",), 100.25)
    quick = agg.depart(("canary",), 100.5)
    agg.land(quick, 100.75)  # done before the 101 boundary: never in flight at a boundary
    first = rows_by_key(agg.drain(101.5))
    assert first[100, "canary"].started == 2
    assert first[100, "canary"].inflight.counts == {LatencyHistogram.index_of(750.0): 1}
    agg.land(slow, 102.25)  # in flight at 102 too; that snapshot is not out yet
    second = rows_by_key(agg.drain(103.0))
    assert second[101, "canary"].inflight.counts == {LatencyHistogram.index_of(1750.0): 1}
    assert (102, "canary") not in second  # nothing in flight at 103
    assert rows_by_key(agg.drain(104.0)) == {}  # a boundary is never written twice


def test_land_is_idempotent():
    agg = Aggregator()
    flight = agg.depart(("legacy", "baseline"), 10.5)
    agg.land(flight, 12.5)
    agg.land(flight, 13.5)
    rows = rows_by_key(agg.drain(14.0))
    assert rows[10, "baseline"].inflight.total == 1  # at boundary 11 only
    assert rows[11, "baseline"].inflight.total == 1  # at boundary 12
    assert (12, "baseline") not in rows


@pytest.mark.parametrize("drain_every", [0.3, 1.0, 2.7])
def test_crossings_count_each_slow_request_once_whatever_the_drain_timing(drain_every):
    """sum over seconds of (completed over L + in flight over L at the end - at the start)
    equals the requests slower than L, each counted in the second it crossed L."""
    line_ms = 2_000.0
    agg = Aggregator()
    requests = [(10.1, 13.0), (10.4, 10.9), (11.2, 15.8), (12.0, 12.5), (12.9, 17.4)]
    events = sorted([(start, "depart", i) for i, (start, _) in enumerate(requests)]
                    + [(end, "land", i) for i, (_, end) in enumerate(requests)])  # fmt: skip
    flights, rows, clock = {}, [], 10.0
    for when, kind, i in events:
        while clock + drain_every <= when:
            clock += drain_every
            rows += agg.drain(clock)
        if kind == "depart":
            flights[i] = agg.depart(("canary",), when)
        else:
            agg.land(flights[i], when)
            agg.record("canary", 200, (when - requests[i][0]) * 1e3, when)
    rows += agg.drain(20.0)
    merged: dict[int, list] = {}
    for r in rows:
        merged.setdefault(r.second, []).append(r)
    crossed_at = {}
    before = 0
    for second in range(10, 20):
        done = sum(r.latency.tail(line_ms) for r in merged.get(second, []))
        flying = sum(r.inflight.tail(line_ms) for r in merged.get(second, []))
        crossed_at[second] = done + flying - before
        before = flying
    expected = {s: 0 for s in range(10, 20)}
    for start, end in requests:
        if end - start > line_ms / 1e3:
            expected[int(start + line_ms / 1e3)] += 1
    assert crossed_at == expected
