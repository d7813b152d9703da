"""rollout/buffer.py: what is kept, merged, handed out and dropped (pure)."""

from __future__ import annotations

import pytest

from gateway.aggregate import TargetSecond
from rollout.buffer import AggregateBuffer, Dropped


def row(second: int, target: str = "canary", requests: int = 1) -> TargetSecond:
    return TargetSecond(second, target, requests=requests, successes=requests)


def test_take_hands_out_everything_oldest_first_and_forgets_it():
    buffer = AggregateBuffer(900)
    buffer.add([row(12, "legacy"), row(10), row(12, "canary"), row(11)])
    taken = buffer.take()
    assert [(r.second, r.target) for r in taken] == [
        (10, "canary"), (11, "canary"), (12, "canary"), (12, "legacy"),
    ]  # fmt: skip
    assert len(buffer) == 0 and buffer.take() == []


def test_rows_of_one_second_and_series_merge_so_memory_is_bounded_by_seconds():
    buffer = AggregateBuffer(900)
    for _ in range(50):  # fifty failed flushes of the same second put back
        buffer.add([row(10, requests=2)])
    assert len(buffer) == 1 and buffer.requests == 100


@pytest.mark.parametrize(
    ("now", "kept", "dropped"),
    [
        (1010.0, [1000, 1005, 1009], Dropped()),  # all within 10 s: nothing dropped
        (1010.9, [1000, 1005, 1009], Dropped()),  # the horizon is whole seconds
        (1011.0, [1005, 1009], Dropped(1, 3, 1000, 1000)),  # the oldest goes first
        (1019.0, [1009], Dropped(2, 5, 1000, 1005)),
        (1100.0, [], Dropped(3, 7, 1000, 1009)),
    ],
)
def test_trim_drops_the_seconds_older_than_the_bound_oldest_first(now, kept, dropped):
    buffer = AggregateBuffer(10)
    buffer.add([row(1000, requests=3), row(1005, requests=2), row(1009, requests=2)])
    assert buffer.trim(now) == dropped
    assert [r.second for r in buffer.take()] == kept


def test_a_bound_must_be_positive():
    with pytest.raises(ValueError, match="max_seconds"):
        AggregateBuffer(0)
