"""Keeps one `Judge` current with the store: reads each settled second once (sync; store I/O).

A stage is identified by (rollout start, stage start, stage index); a new one gets a fresh
judge whose first second is the first whole second of the stage. Each call reads only the
seconds settled since the last call (`settled_series`), at most `chunk_seconds` at a time, so
a new leader rebuilding a 72 h stage catches up over a few hundred ticks instead of stalling
one, and reaches exactly the state the old leader had: the judge is a pure function of settled
seconds. While it catches up its verdicts are about older seconds; they are still valid.

Late rows (`late_series`) are read with the same range: those stamped with fold second F are
folded in just before second F is judged, so the leader that saw them arrive, a leader
rebuilding later and a replay all fold them at the same place. A late row of a second before
the stage (or of an earlier stage) is not this stage's evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from gateway.aggregate import TargetSecond
from rollout.judge.judge import Judge, JudgeConfig
from rollout.store.interface import LateRow

#: Judging a second costs ~1 ms of CPU; 900 of them per tick keep a rebuilding leader's worker
#: thread from starving the gateway's event loop of the GIL (a 72 h stage: ~5 min to catch up).
CHUNK_SECONDS = 900


def first_second(entered_at: float) -> int:
    """The first whole second of a stage (the one it began in was routed half the old way)."""
    return math.floor(entered_at) + 1


def horizon(now: float, settle_seconds: float) -> int:
    """Seconds before this one are settled: over, and `settle_seconds` given to late flushes."""
    return math.floor(now - settle_seconds)


def by_second(
    rows: Iterable[TargetSecond], since: int, until: int
) -> Iterator[tuple[int, dict[str, TargetSecond]]]:
    """Every second in [since, until) with its rows by series (empty when nothing happened)."""
    grouped: dict[int, dict[str, TargetSecond]] = {}
    for row in rows:
        grouped.setdefault(row.second, {})[row.target] = row
    for second in range(since, until):
        yield second, grouped.get(second, {})


Chunk = list[tuple[int, dict[str, TargetSecond]]]


def by_fold(late: Iterable[LateRow]) -> dict[int, Chunk]:
    """Late rows grouped by fold second, each group as (second, rows by series) in order."""
    grouped: dict[int, dict[int, dict[str, TargetSecond]]] = {}
    for item in late:
        seconds = grouped.setdefault(item.fold_second, {})
        seconds.setdefault(item.row.second, {})[item.row.target] = item.row
    return {fold: sorted(seconds.items()) for fold, seconds in grouped.items()}


def judge_range(
    judge: Judge,
    rows: Iterable[TargetSecond],
    late: Iterable[LateRow],
    since: int,
    until: int,
) -> None:
    """Judge every second in [since, until), folding in each late group before its second."""
    folds = by_fold(late)
    for second, series in by_second(rows, since, until):
        if second in folds:
            judge.fold(folds[second])
        judge.step(second, series)


class StageTracker:
    def __init__(self, config: JudgeConfig, *, chunk_seconds: int = CHUNK_SECONDS) -> None:
        self.config = config
        self.chunk_seconds = chunk_seconds
        self.key: tuple[Any, ...] | None = None
        self.judge: Judge | None = None

    def catch_up(self, store: Any, state: Any, now: float, settle_seconds: float) -> Judge:
        """The stage's judge, fed every second settled by `now` (up to one chunk more)."""
        key = (state.started_at, state.entered_at, state.stage_index)
        if self.judge is None or key != self.key:
            self.key = key
            self.judge = Judge(self.config, state.stage_index or 0, first_second(state.entered_at))
        judge = self.judge
        since = judge.last_second + 1
        until = min(horizon(now, settle_seconds), since + self.chunk_seconds)
        if until > since:
            rows = store.settled_series(since, until)  # seals [.., until): read late rows after
            judge_range(judge, rows, store.late_series(since, until), since, until)
        return judge

    def reset(self) -> None:
        self.key = None
        self.judge = None
