"""rollout/dashboard/series.py: the charts' query rules and points, table-driven."""

from __future__ import annotations

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.dashboard.series import (
    MAX_LOOKBACK_SECONDS,
    MAX_POINTS,
    SETTLE_SECONDS,
    QueryError,
    SeriesQuery,
    marks,
    parse_query,
    points,
    series_doc,
)

NOW = 1_767_225_600.4  # a multiple of 3600, plus a little


def row(second: int, requests: int, errors: int, latency_ms: float, series: str = "canary"):
    hist = LatencyHistogram()
    hist.add(latency_ms, requests)
    return TargetSecond(second, series, requests, errors, requests - errors, hist)


@pytest.mark.parametrize(
    ("params", "started_at", "expected", "why"),
    [
        ({}, NOW - 300, SeriesQuery(int(NOW) - 300, int(NOW) + 1 - SETTLE_SECONDS, 1),
         "default: the rollout so far, 1 s points while that is <= 600 of them"),
        ({}, None, SeriesQuery(int(NOW) - 900, int(NOW) - 1, 2),
         "no rollout: the last 15 minutes, at the smallest step giving <= 600 points"),
        ({}, NOW - 3 * 86400, SeriesQuery(int(NOW) - 3 * 86400, int(NOW) - 1, 600),
         "a three-day rollout: 10-minute points"),
        ({"since": "-60"}, None, SeriesQuery(int(NOW) - 60, int(NOW) - 1, 1), "negative: ago"),
        ({"since": str(int(NOW) - 125), "step": "10"}, None,
         SeriesQuery(int(NOW) - 130, int(NOW) - 1, 10), "since aligned down to the step"),
        ({}, NOW - 400 * 86400, SeriesQuery(int(NOW) - MAX_LOOKBACK_SECONDS, int(NOW) - 1, 7200),
         "a default never reaches back past the lookback limit"),
    ],
)  # fmt: skip
def test_queries(params, started_at, expected, why):
    assert parse_query(params, NOW, started_at) == expected, why


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "1.5"}, "since"),
        ({"since": ""}, "since"),
        ({"since": "9" * 40}, "since"),
        ({"since": str(int(NOW) + 60)}, "since"),  # the future
        ({"since": str(int(NOW) - MAX_LOOKBACK_SECONDS - 1)}, "since"),
        ({"step": "0"}, "step"),
        ({"step": "-5"}, "step"),
        ({"step": "86401"}, "step"),
        ({"step": "1s"}, "step"),
        ({"since": "-86400", "step": "1"}, "step"),  # 86,400 points: a huge range
    ],
)
def test_bad_parameters_are_named(params, parameter):
    with pytest.raises(QueryError) as caught:
        parse_query(params, NOW, None)
    assert caught.value.parameter == parameter


def test_the_largest_allowed_range_at_a_step_is_max_points():
    since = int(NOW) - MAX_POINTS * 5  # a multiple of 5: exactly MAX_POINTS buckets of 5 s
    assert parse_query({"since": str(since), "step": "5"}, NOW, None).points == MAX_POINTS
    with pytest.raises(QueryError, match="1001 points") as caught:
        parse_query({"since": str(since - 5), "step": "5"}, NOW, None)
    least = int(caught.value.problem.rsplit(">= ", 1)[1])  # the step it suggests does fit
    assert parse_query({"since": str(since - 5), "step": str(least)}, NOW, None).points <= 1000
    with pytest.raises(QueryError):  # and is the least that does
        parse_query({"since": str(since - 5), "step": str(least - 1)}, NOW, None)


def test_points_are_dense_buckets_with_rates_and_p95():
    query = SeriesQuery(100, 106, 2)  # buckets 100, 102, 104
    rows = [row(100, 10, 1, 50.0), row(101, 10, 3, 500.0), row(105, 4, 0, 5.0), row(99, 9, 9, 1.0)]
    got = points(rows, query)
    assert [p["t"] for p in got] == [100, 102, 104]
    first, empty, last = got
    assert (first["requests"], first["errors"], first["rps"], first["error_rate"]) == (
        20,
        4,
        10,
        0.2,
    )
    assert first["p95_ms"] == pytest.approx(500.0, rel=0.02)
    assert (empty["requests"], empty["rps"], empty["error_rate"], empty["p95_ms"]) == (
        0,
        0,
        None,
        None,
    )
    assert last["rps"] == 2.0


def test_the_last_partial_bucket_counts_requests_per_second_it_covers():
    query = SeriesQuery(100, 103, 10)  # one bucket, only 3 of its seconds so far
    assert points([row(101, 30, 0, 1.0)], query)[0]["rps"] == 10.0


def test_marks_are_stage_changes_and_rollbacks_since_the_range_began():
    history = [
        {"at": 99.0, "verb": "start", "from_percent": 0, "to_percent": 5, "reason": None},
        {
            "at": 150.0,
            "verb": "auto_rollback",
            "from_percent": 10,
            "to_percent": 0,
            "reason": "breach: x",
        },
        {"at": 120.0, "verb": "advance", "from_percent": 5, "to_percent": 10, "reason": None},
        {"at": 130.0, "verb": "warn", "from_percent": 10, "to_percent": 10, "reason": "warn"},
    ]
    got = marks(history, SeriesQuery(100, 140, 1))  # the rollback at 150 is past `until`: kept
    assert [(m["verb"], m["rollback"]) for m in got] == [
        ("advance", False),
        ("auto_rollback", True),
    ]
    assert got[1]["reason"] == "breach: x"


def test_baseline_is_charted_only_when_the_store_has_it():
    query = SeriesQuery(100, 102, 1)
    doc = series_doc({"legacy": [], "canary": [], "baseline": []}, [], query)
    assert set(doc["series"]) == {"legacy", "canary"}
    doc = series_doc(
        {"legacy": [], "canary": [], "baseline": [row(100, 1, 0, 1.0, "baseline")]}, [], query
    )
    assert set(doc["series"]) == {"legacy", "canary", "baseline"}
    assert (doc["since"], doc["until"], doc["step"]) == (100, 102, 1)
