"""Aggregate rows the store has not taken yet: kept in memory, bounded, flushed oldest first.

The flusher drains the process's `Aggregator` into this buffer every flush interval and then
hands the store everything buffered, oldest second first. While the store is unwritable (Redis
down, SQLite locked or broken) the rows stay here and merge with the newer ones of the same
second and series, so the buffer holds at most one row per (second, series), plus the one of
the batch being sent (below), which never merges. Rows older than
`max_seconds` before now are dropped, oldest first: an outage up to that long loses no request
from the controller's view (the judge folds the rows in as late rows once they arrive); past it,
every dropped row is counted (`rollout_aggregates_dropped_total`) and the extension logs one
line per episode. Memory: three series, so at most `3 * max_seconds` rows held and as many
in the batch (a few MB at the default 900 s).

Batches: the flusher sends `batch()`, one id and the rows it holds, and says `landed()` once a
call returned. Until then every `batch()` hands out the same id and the same rows, never merged
with newer ones (those wait in the buffer for the next batch), so a store that applies an id at
most once (`RolloutStore.append_aggregates`) counts a batch once, however many sends timed out
yet landed. Past the bound a batch loses its oldest rows like the rest but keeps its id: what
is resent is then a part of what was first sent, so whichever send is applied, no row counts
twice.

Pure: no I/O, no clock of its own (`now` is an argument); one event loop owns it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.aggregate import TargetSecond

#: The most rows one batch carries: after a long outage the buffer holds up to 3 x
#: ROLLOUT_BUFFER_SECONDS rows, and one append of them all would hold a shared Redis for its
#: whole script (and might outlast the command timeout, to be resent forever). 300 rows are
#: 100 seconds of three series; the flusher sends batch after batch, oldest first.
MAX_BATCH_ROWS = 300


@dataclass(frozen=True, slots=True)
class Dropped:
    """What one `trim` dropped: rows (second x series), the requests they counted, and the
    seconds they covered (`first_second`..`last_second`, both included)."""

    rows: int = 0
    requests: int = 0
    first_second: int | None = None
    last_second: int | None = None


@dataclass(slots=True)
class Batch:
    """Rows on their way to the store under one id, oldest second first."""

    id: str
    rows: list[TargetSecond] = field(default_factory=list)


class AggregateBuffer:
    def __init__(self, max_seconds: int, batch_prefix: str | None = None) -> None:
        """`batch_prefix` names this process in its batch ids (`<prefix>-<n>`); by default a
        random one, so two processes, or one restarted, never share an id."""
        if max_seconds <= 0:
            raise ValueError("max_seconds must be > 0")
        self.max_seconds = max_seconds
        self._rows: dict[tuple[int, str], TargetSecond] = {}
        self._batch: Batch | None = None  # sent, not known to have landed
        self._prefix = batch_prefix or uuid.uuid4().hex
        self._numbers = itertools.count(1)

    def __len__(self) -> int:
        """Rows not in the store yet: held, and in the batch being sent."""
        return len(self._rows) + (len(self._batch.rows) if self._batch else 0)

    @property
    def requests(self) -> int:
        held = sum(row.requests for row in self._rows.values())
        return held + (sum(row.requests for row in self._batch.rows) if self._batch else 0)

    def batch(self) -> Batch | None:
        """The batch to send: the one not known to have landed, unchanged, else a new one of
        the oldest rows held, at most `MAX_BATCH_ROWS` (taken out of the buffer), else None."""
        if self._batch is None:
            rows = self.take()
            if rows:
                rows, rest = rows[:MAX_BATCH_ROWS], rows[MAX_BATCH_ROWS:]
                self._rows = {(r.second, r.target): r for r in rest}
                self._batch = Batch(f"{self._prefix}-{next(self._numbers)}", rows)
        return self._batch

    def landed(self) -> None:
        """The store took the batch (or already had it): forget it."""
        self._batch = None

    def add(self, rows: Iterable[TargetSecond]) -> None:
        """Keep `rows`; one of a (second, series) already held merges into it."""
        for row in rows:
            key = (row.second, row.target)
            held = self._rows.get(key)
            if held is None:
                self._rows[key] = row
            else:
                held.merge(row)

    def take(self) -> list[TargetSecond]:
        """Everything held, oldest second first (then by series), and forget it: the caller
        `add`s it back if the store refused it."""
        rows, self._rows = self._rows, {}
        return sorted(rows.values(), key=lambda r: (r.second, r.target))

    def trim(self, now: float) -> Dropped:
        """Drop the rows of seconds more than `max_seconds` before `now`, held or in the
        batch (which keeps its id; once empty it is gone and the next one is new)."""
        horizon = int(now) - self.max_seconds
        old = [row for key, row in self._rows.items() if key[0] < horizon]
        for row in old:
            del self._rows[(row.second, row.target)]
        if self._batch is not None:
            old += [row for row in self._batch.rows if row.second < horizon]
            self._batch.rows = [row for row in self._batch.rows if row.second >= horizon]
            if not self._batch.rows:
                self._batch = None
        if not old:
            return Dropped()
        seconds = [row.second for row in old]
        return Dropped(len(old), sum(row.requests for row in old), min(seconds), max(seconds))
