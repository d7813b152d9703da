"""Aggregate rows the store has not taken yet: kept in memory, bounded, flushed oldest first.

The flusher drains the process's `Aggregator` into this buffer every flush interval and then
hands the store everything buffered, oldest second first. While the store is unwritable (Redis
down, SQLite locked or broken) the rows stay here and merge with the newer ones of the same
second and series, so the buffer holds at most one row per (second, series). Rows older than
`max_seconds` before now are dropped, oldest first: an outage up to that long loses no request
from the controller's view (the judge folds the rows in as late rows once they arrive); past it,
every dropped row is counted (`rollout_aggregates_dropped_total`) and the extension logs one
line per episode. Memory: three series, so at most `3 * max_seconds` rows (a few MB at the
default 900 s).

Pure: no I/O, no clock of its own (`now` is an argument); one event loop owns it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.aggregate import TargetSecond


@dataclass(frozen=True, slots=True)
class Dropped:
    """What one `trim` dropped: rows (second x series), the requests they counted, and the
    seconds they covered (`first_second`..`last_second`, both included)."""

    rows: int = 0
    requests: int = 0
    first_second: int | None = None
    last_second: int | None = None


class AggregateBuffer:
    def __init__(self, max_seconds: int) -> None:
        if max_seconds <= 0:
            raise ValueError("max_seconds must be > 0")
        self.max_seconds = max_seconds
        self._rows: dict[tuple[int, str], TargetSecond] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def requests(self) -> int:
        return sum(row.requests for row in self._rows.values())

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
        """Drop the rows of seconds more than `max_seconds` before `now`."""
        horizon = int(now) - self.max_seconds
        old = sorted(key for key in self._rows if key[0] < horizon)
        if not old:
            return Dropped()
        requests = sum(self._rows.pop(key).requests for key in old)
        return Dropped(len(old), requests, old[0][0], old[-1][0])
