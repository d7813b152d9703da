"""rollout/buffer.py: what is kept, merged, handed out and dropped (pure)."""

from __future__ import annotations

import pytest

from gateway.aggregate import TargetSecond
from rollout.buffer import MAX_BATCH_ROWS, AggregateBuffer, Dropped


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


def test_a_batch_is_handed_out_unchanged_until_it_landed_and_newer_rows_wait():
    buffer = AggregateBuffer(900, batch_prefix="p")
    buffer.add([row(10, requests=2), row(11)])
    first = buffer.batch()
    assert first is not None and first.id == "p-1"
    buffer.add([row(10, requests=5), row(12)])  # newer rows, one of a second in the batch
    again = buffer.batch()  # the send failed: the same id, the same rows, nothing merged
    assert again is not None and again.id == "p-1"
    assert [(r.second, r.requests) for r in again.rows] == [(10, 2), (11, 1)]
    assert len(buffer) == 4 and buffer.requests == 9
    buffer.landed()
    second = buffer.batch()
    assert second is not None and second.id == "p-2"
    assert [(r.second, r.requests) for r in second.rows] == [(10, 5), (12, 1)]
    buffer.landed()
    assert buffer.batch() is None and len(buffer) == 0


def test_a_long_outage_goes_out_in_bounded_batches_oldest_first():
    buffer = AggregateBuffer(900, batch_prefix="p")
    held = MAX_BATCH_ROWS * 2 + 7
    buffer.add([row(1000 + i) for i in range(held)])
    sizes, seconds = [], []
    while (batch := buffer.batch()) is not None:
        sizes.append(len(batch.rows))
        seconds += [r.second for r in batch.rows]
        buffer.landed()
    assert sizes == [MAX_BATCH_ROWS, MAX_BATCH_ROWS, 7]
    assert seconds == list(range(1000, 1000 + held))  # each row once, oldest first
    assert len(buffer) == 0


def test_trim_drops_a_batchs_old_rows_and_keeps_its_id():
    buffer = AggregateBuffer(10, batch_prefix="p")
    buffer.add([row(1000, requests=3), row(1005, requests=2)])
    assert buffer.batch() is not None
    buffer.add([row(1003, requests=4)])
    assert buffer.trim(1011.0) == Dropped(1, 3, 1000, 1000)
    kept = buffer.batch()
    assert kept is not None and kept.id == "p-1" and [r.second for r in kept.rows] == [1005]
    assert buffer.trim(1016.0) == Dropped(2, 6, 1003, 1005)  # the held row and the batch's
    assert buffer.batch() is None  # the emptied batch is gone, and nothing is left


def test_two_buffers_never_share_a_batch_id():
    a, b = AggregateBuffer(900), AggregateBuffer(900)
    a.add([row(10)])
    b.add([row(10)])
    first, second = a.batch(), b.batch()
    assert first is not None and second is not None and first.id != second.id


def test_a_bound_must_be_positive():
    with pytest.raises(ValueError, match="max_seconds"):
        AggregateBuffer(0)
