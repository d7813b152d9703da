"""`ion-rollout export` and `ion-rollout replay`: the judge's decisions, re-run from the series.

export: JSON lines. The first line describes the rollout (`kind: rollout`: id = the id of its
`start` history row, started/ended, the plan, every transition); then one line per second that
has rows (`kind: second`, every series merged over processes), then one line per late second
(`kind: late`: rows that arrived after their second was settled, with the `fold_second` the
judge folded them in at, so a replay folds them at the same place). It reads the store directly
(ROLLOUT_STORE_URL), not the gateway's HTTP API: the per-second series of a 72 h stage is far
too large for an admin response, and the store is what the controller judged, settled rows
only, so a replay sees exactly those.

replay: re-runs the judge over an export on a virtual clock, stage by stage as the rollout
went (the recorded transitions say when each stage began), with today's ROLLOUT_* settings
and any `--set ROLLOUT_X=value` on top. It prints every change of verdict with its time and
evidence and ends with `decision=<breach|healthy|not_enough_data> at_s=<seconds|->`, seconds
counted from the rollout's start to the end of the second the decision was reached in. A
breach ends the replay (the rollout would have stopped there). Same input and settings, same
bytes out: the judge is a pure function of the settled seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.judge.evidence import Verdict, VerdictKind
from rollout.judge.judge import Judge, JudgeConfig
from rollout.judge.tracker import Chunk, by_fold, by_second, first_second, horizon
from rollout.store import HistoryEntry, LateRow, RolloutStore

STAGE_VERBS = ("start", "advance", "auto_advance", "auto_step_back")
END_VERBS = ("rollback", "auto_rollback")
HISTORY_LIMIT = 100_000


class ReplayError(Exception):
    """The export cannot be found, read or replayed; says why."""


# export ---------------------------------------------------------------------------------------


def rollout_rows(history: Sequence[HistoryEntry], rollout_id: int | None) -> list[HistoryEntry]:
    """The history rows of one rollout, oldest first: from its start to the next start."""
    oldest_first = sorted(history, key=lambda e: e.id or 0)
    starts = [e for e in oldest_first if e.verb == "start"]
    if not starts:
        raise ReplayError("no rollout in the history")
    start = (
        starts[-1] if rollout_id is None else next((e for e in starts if e.id == rollout_id), None)
    )
    if start is None:
        raise ReplayError(f"no rollout with id {rollout_id}; ids: {[e.id for e in starts]}")
    later = [e for e in oldest_first if (e.id or 0) >= (start.id or 0)]
    following = next((e for e in later[1:] if e.verb == "start"), None)
    return [e for e in later if following is None or (e.id or 0) < (following.id or 0)]


def export(
    store: RolloutStore,
    out: IO[str],
    *,
    stages: Sequence[int],
    now: float,
    settle_seconds: float,
    rollout_id: int | None = None,
) -> int:
    """Write one rollout as JSON lines; returns how many seconds were written."""
    rows = rollout_rows(store.history(HISTORY_LIMIT), rollout_id)
    start = rows[0]
    following = _next_start_at(store.history(HISTORY_LIMIT), start)
    ended = next((e.at for e in rows if e.to_state in ("rolled_back", "completed")), None)
    header = {
        "kind": "rollout",
        "id": start.id,
        "started_at": start.at,
        "ended_at": ended,
        "stages": list(stages),
        "transitions": [_transition(e) for e in rows],
    }
    out.write(json.dumps(header, sort_keys=True) + "\n")
    since = math.floor(start.at)
    until = horizon(now, settle_seconds)
    if ended is not None:
        until = min(until, math.floor(ended) + 1)
    if following is not None:
        until = min(until, math.floor(following))
    written = 0
    for second, series in by_second(store.settled_series(since, until), since, until):
        if series:
            line = {"kind": "second", "second": second,
                    "series": {k: _row(v) for k, v in sorted(series.items())}}  # fmt: skip
            out.write(json.dumps(line, sort_keys=True) + "\n")
            written += 1
    for fold, chunk in sorted(by_fold(store.late_series(since, until)).items()):
        for second, series in chunk:
            line = {"kind": "late", "fold_second": fold, "second": second,
                    "series": {k: _row(v) for k, v in sorted(series.items())}}  # fmt: skip
            out.write(json.dumps(line, sort_keys=True) + "\n")
    return written


def _next_start_at(history: Sequence[HistoryEntry], start: HistoryEntry) -> float | None:
    later = sorted((e for e in history if e.verb == "start" and (e.id or 0) > (start.id or 0)),
                   key=lambda e: e.id or 0)  # fmt: skip
    return later[0].at if later else None


def _transition(e: HistoryEntry) -> dict[str, Any]:
    return {"at": e.at, "verb": e.verb, "actor": e.actor, "from_state": e.from_state,
            "to_state": e.to_state, "from_percent": e.from_percent,
            "to_percent": e.to_percent}  # fmt: skip


def _row(r: TargetSecond) -> dict[str, Any]:
    return {"requests": r.requests, "errors": r.errors, "successes": r.successes,
            "latency": r.latency.to_dict(), "started": r.started,
            "inflight": r.inflight.to_dict()}  # fmt: skip


# replay ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    entered_at: float
    until_second: int | None  # first second no longer in this stage (None: to the end)


@dataclass(frozen=True, slots=True)
class Export:
    header: dict[str, Any]
    seconds: dict[int, dict[str, TargetSecond]]
    folds: dict[int, Chunk]  # fold second -> the late seconds folded in before it


def read_export(lines: Iterable[str]) -> Export:
    header: dict[str, Any] | None = None
    seconds: dict[int, dict[str, TargetSecond]] = {}
    late: list[LateRow] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if data["kind"] == "rollout":
                header = data
            elif data["kind"] == "second":
                s = int(data["second"])
                seconds[s] = {name: _target(s, name, row) for name, row in data["series"].items()}
            elif data["kind"] == "late":
                s, fold = int(data["second"]), int(data["fold_second"])
                late += [LateRow(fold, _target(s, name, row))
                         for name, row in data["series"].items()]  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplayError(f"line {number}: not an ion-rollout export ({exc!r})") from None
    if header is None:
        raise ReplayError("no rollout line in the export")
    return Export(header, seconds, by_fold(late))


def _target(second: int, name: str, row: Mapping[str, Any]) -> TargetSecond:
    return TargetSecond(
        second, name, int(row["requests"]), int(row["errors"]), int(row["successes"]),
        LatencyHistogram.from_dict(row["latency"]), int(row.get("started", 0)),
        LatencyHistogram.from_dict(row.get("inflight", {})),
    )  # fmt: skip


def stages_of(header: Mapping[str, Any]) -> list[Stage]:
    """When each stage began and ended, from the recorded transitions."""
    plan = list(header["stages"])
    found: list[tuple[int, float]] = []
    end: float | None = None
    for t in header["transitions"]:
        if t["verb"] in STAGE_VERBS and t["to_state"] == "progressing":
            found.append((plan.index(t["to_percent"]), float(t["at"])))
        elif t["to_state"] in ("rolled_back", "completed") and end is None and found:
            end = float(t["at"])
    stages = []
    for i, (index, entered) in enumerate(found):
        nxt = found[i + 1][1] if i + 1 < len(found) else end
        stages.append(Stage(index, entered, math.floor(nxt) if nxt is not None else None))
    return stages


def replay(export: Export, config: JudgeConfig) -> Iterator[str]:
    """Every change of verdict, then the decision line. Late seconds are folded in where the
    controller folded them: just before their fold second is judged."""
    header, seconds, folds = export.header, export.seconds, export.folds
    origin = math.floor(float(header["started_at"]))
    last_second = max([*seconds, *folds], default=origin)
    final, final_at, previous = VerdictKind.NOT_ENOUGH_DATA, None, None
    for stage in stages_of(header):
        judge = Judge(config, stage.index, first_second(stage.entered_at))
        end = stage.until_second if stage.until_second is not None else last_second + 1
        percent = header["stages"][stage.index]
        yield f"stage {stage.index} ({percent}%) from at_s={judge.first_second - origin}"
        previous = None
        for second in range(judge.first_second, end):
            if second in folds:
                judge.fold(folds[second])
            judge.step(second, seconds.get(second, {}))
            verdict = judge.verdict()
            kind = verdict.verdict
            if kind != previous:
                yield describe(verdict, second + 1 - origin)
                previous = kind
                if kind in (VerdictKind.BREACH, VerdictKind.HEALTHY):
                    final, final_at = kind, second + 1 - origin
                else:
                    final, final_at = VerdictKind.NOT_ENOUGH_DATA, None
            if kind == VerdictKind.BREACH:
                yield f"decision={VerdictKind.BREACH} at_s={final_at}"
                return
    yield f"decision={final} at_s={final_at if final_at is not None else '-'}"


def describe(verdict: Verdict, at_s: int) -> str:
    deciding = verdict.worst(verdict.verdict) or verdict.metrics
    parts = [f"at_s={at_s} verdict={verdict.verdict}" + (" shared" if verdict.shared else "")]
    parts += [m.describe() for m in deciding]
    return " | ".join(parts)
