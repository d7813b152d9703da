"""`GET /admin/rollout/series?since=&step=`: the charts' points, from per-second rows (pure).

The page draws requests/s, error rate and P95 per series (`legacy`, `canary`, and `baseline`
when the store has it) over the rollout so far. Points are buckets of `step` seconds aligned to
multiples of `step` (so a page that asks again `since` its last bucket gets the same buckets
back), dense (an empty bucket is a point with 0 requests and no rates), at most `MAX_POINTS`.

Parameters, each refused with 422 naming it:
- `since`: epoch seconds (an integer), or a negative integer for "that many seconds ago";
  at most `MAX_LOOKBACK_SECONDS` back and not in the future. Default: the current (or last)
  rollout's start, else the last 15 minutes.
- `step`: seconds per point, 1..86400. Default: the smallest of `STEPS` giving at most
  `DEFAULT_POINTS` points. An explicit step that would give more than `MAX_POINTS` is refused.

The range ends `SETTLE_SECONDS` before now: every process flushes about once a second, so the
last second or two are still arriving and would draw as a false drop. Marks (stage changes,
rollbacks) are not held back: a rollback shows at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.aggregate import TargetSecond

SERIES = ("legacy", "canary", "baseline")
ALWAYS_SHOWN = ("legacy", "canary")  # baseline only when it has rows
MAX_POINTS = 1000
DEFAULT_POINTS = 600
MAX_STEP_SECONDS = 86400
MAX_LOOKBACK_SECONDS = 31 * 86400
IDLE_LOOKBACK_SECONDS = 900
SETTLE_SECONDS = 2
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
MARK_VERBS = frozenset(
    {"start", "advance", "auto_advance", "rollback", "auto_rollback", "auto_step_back"}
)
_INTEGER = re.compile(r"-?\d{1,12}")


class QueryError(ValueError):
    """A bad query parameter; `parameter` is named in the 422 answer."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    since: int  # first bucket's start, a multiple of step
    until: int  # exclusive: the first second not shown yet
    step: int

    @property
    def points(self) -> int:
        return max(0, math.ceil((self.until - self.since) / self.step))


def parse_query(
    params: Mapping[str, str], now: float, rollout_started_at: float | None
) -> SeriesQuery:
    until = int(now) + 1 - SETTLE_SECONDS
    since = _since(params.get("since"), now, rollout_started_at)
    raw_step = params.get("step")
    if raw_step is None:
        step = next(
            (s for s in STEPS if math.ceil((until - since) / s) <= DEFAULT_POINTS), STEPS[-1]
        )
    else:
        step = _step(raw_step)
    query = _aligned(since, until, step)
    if query.points > MAX_POINTS:
        least = math.ceil((until - since) / MAX_POINTS)
        while _aligned(since, until, least).points > MAX_POINTS:
            least += 1
        raise QueryError(
            "step",
            f"{query.points} points from since to now; at most {MAX_POINTS}: use step >= {least}",
        )
    return query


def _aligned(since: int, until: int, step: int) -> SeriesQuery:
    return SeriesQuery(since - since % step, until, step)


def _since(raw: str | None, now: float, started_at: float | None) -> int:
    earliest = int(now) - MAX_LOOKBACK_SECONDS
    if raw is None:
        default = started_at if started_at is not None else now - IDLE_LOOKBACK_SECONDS
        return max(int(default), earliest)
    if not _INTEGER.fullmatch(raw.strip()):
        raise QueryError("since", "must be an integer: epoch seconds, or negative seconds ago")
    value = int(raw)
    since = int(now) + value if value < 0 else value
    if since > now:
        raise QueryError("since", "is in the future")
    if since < earliest:
        raise QueryError("since", f"is more than {MAX_LOOKBACK_SECONDS} seconds ago")
    return since


def _step(raw: str) -> int:
    if not _INTEGER.fullmatch(raw.strip()) or not 1 <= int(raw) <= MAX_STEP_SECONDS:
        raise QueryError("step", f"must be an integer number of seconds, 1..{MAX_STEP_SECONDS}")
    return int(raw)


def points(rows: Iterable[TargetSecond], query: SeriesQuery) -> list[dict[str, Any]]:
    """Dense buckets of `query.step` seconds over [since, until), rows merged into them."""
    buckets = [TargetSecond(t, "") for t in range(query.since, query.until, query.step)]
    for row in rows:
        index = (row.second - query.since) // query.step
        if 0 <= index < len(buckets):
            buckets[index].merge(row)
    return [_point(b, min(query.step, query.until - b.second)) for b in buckets]


def _point(bucket: TargetSecond, seconds: int) -> dict[str, Any]:
    n = bucket.requests
    p95 = bucket.latency.quantile(0.95)
    return {
        "t": bucket.second,
        "requests": n,
        "errors": bucket.errors,
        "successes": bucket.successes,
        "rps": round(n / seconds, 3),
        "error_rate": round(bucket.errors / n, 5) if n else None,
        "p95_ms": round(p95, 2) if p95 is not None and n else None,
    }


def marks(history: Iterable[Mapping[str, Any]], query: SeriesQuery) -> list[dict[str, Any]]:
    """Stage changes and rollbacks since the range began, oldest first, for the charts."""
    found = [
        {
            "at": entry["at"],
            "verb": entry["verb"],
            "from_percent": entry["from_percent"],
            "to_percent": entry["to_percent"],
            "rollback": "rollback" in entry["verb"] or entry["verb"] == "auto_step_back",
            "reason": entry.get("reason"),
        }
        for entry in history
        if entry["verb"] in MARK_VERBS and entry["at"] >= query.since
    ]
    return sorted(found, key=lambda m: m["at"])


def series_doc(
    rows: Mapping[str, Sequence[TargetSecond]],
    history: Iterable[Mapping[str, Any]],
    query: SeriesQuery,
) -> dict[str, Any]:
    shown = {n: r for n, r in rows.items() if n in ALWAYS_SHOWN or r}
    return {
        "since": query.since,
        "until": query.until,
        "step": query.step,
        "series": {name: points(r, query) for name, r in shown.items()},
        "marks": marks(history, query),
    }
