"""This process's outcome counts into the store, through a bounded buffer (`rollout.buffer`).

Every flush interval the extension calls `flush`: the `Aggregator` is drained into the buffer
and the buffer handed to the store, oldest second first. What the store refuses stays buffered
for the next flush; past `ROLLOUT_BUFFER_SECONDS` the oldest seconds are dropped, counted in
`rollout_aggregates_dropped_total` and logged once per episode (`rollout.aggregates_dropped`,
then `rollout.buffer_flushed` when a flush succeeds again). Exactly once within the bound: the
buffer hands out batches with ids, a failed batch is resent unchanged under its id (newer rows
wait for the next batch), and the store applies an id at most once, so a flush that timed out
yet landed is not counted again (docs/rollout.md).
"""

from __future__ import annotations

import asyncio

from common.logging import get_logger
from gateway.aggregate import Aggregator, TargetSecond
from rollout.buffer import AggregateBuffer
from rollout.metrics import RolloutMetrics
from rollout.store import RolloutStore
from rollout.store.interface import failure_kind


class Flusher:
    def __init__(self, buffer_seconds: int, metrics: RolloutMetrics) -> None:
        self.buffer = AggregateBuffer(buffer_seconds)
        self.metrics = metrics
        self._dropping = False  # in a drop episode (logged once)
        self._log = get_logger("rollout.flusher")

    @property
    def pending_rows(self) -> int:
        """Rows not yet in the store: buffered or being written (`/readyz` buffered_rows)."""
        return len(self.buffer)

    async def flush(self, aggregator: Aggregator, store: RolloutStore, now: float) -> None:
        """Send the batch a failed flush left (same id, same rows), then, if it landed, one of
        everything newer; a failure keeps the batch for the next flush. A cancelled flush
        keeps it too: its call may still land, and the resend under its id counts once."""
        self.buffer.add(aggregator.drain(now))
        while (batch := self.buffer.batch()) is not None:
            rows = list(batch.rows)
            try:
                await asyncio.to_thread(store.append_aggregates, rows, batch.id)
            except Exception as exc:
                self._log.warning("rollout.flush_failed", kind=failure_kind(exc), rows=len(rows))
                break
            self.buffer.landed()
            self._flushed(rows)
        self._trim(now)
        self.metrics.aggregates_buffered.set(len(self.buffer))

    def _flushed(self, rows: list[TargetSecond]) -> None:
        if self._dropping:
            self._log.info("rollout.buffer_flushed", rows=len(rows))
            self._dropping = False

    def _trim(self, now: float) -> None:
        dropped = self.buffer.trim(now)
        if not dropped.rows:
            return
        self.metrics.aggregates_dropped.inc(dropped.rows)
        if not self._dropping:
            self._dropping = True
            self._log.error(
                "rollout.aggregates_dropped", rows=dropped.rows, requests=dropped.requests,
                first_second=dropped.first_second, last_second=dropped.last_second,
                buffer_seconds=self.buffer.max_seconds,
            )  # fmt: skip
