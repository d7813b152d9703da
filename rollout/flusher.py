"""This process's outcome counts into the store, through a bounded buffer (`rollout.buffer`).

Every flush interval the extension calls `flush`: the `Aggregator` is drained into the buffer
and the buffer handed to the store, oldest second first. What the store refuses stays buffered
for the next flush; past `ROLLOUT_BUFFER_SECONDS` the oldest seconds are dropped, counted in
`rollout_aggregates_dropped_total` and logged once per episode (`rollout.aggregates_dropped`,
then `rollout.buffer_flushed` when a flush succeeds again). At-least-once: a flush that timed
out may have landed and is sent again (docs/rollout.md).
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
        self._in_flight = 0  # rows on their way to the store (taken from the buffer)
        self._log = get_logger("rollout.flusher")

    @property
    def pending_rows(self) -> int:
        """Rows not yet in the store: buffered or being written (`/readyz` buffered_rows)."""
        return len(self.buffer) + self._in_flight

    async def flush(self, aggregator: Aggregator, store: RolloutStore, now: float) -> None:
        self.buffer.add(aggregator.drain(now))
        rows = self.buffer.take()
        if rows:
            self._in_flight = len(rows)
            try:
                await asyncio.to_thread(store.append_aggregates, rows)
            except Exception as exc:
                self.buffer.add(rows)
                self._log.warning("rollout.flush_failed", kind=failure_kind(exc), rows=len(rows))
            else:
                self._flushed(rows)
            finally:
                self._in_flight = 0
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
