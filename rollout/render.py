"""Rich renderings of the admin API's JSON for `ion-rollout` (pure: JSON in, renderables out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rollout.machine import Status
from rollout.policy import VerdictKind

VERDICT_STYLE = {
    VerdictKind.HEALTHY: "green",
    VerdictKind.WARN: "yellow",
    VerdictKind.BREACH: "bold red",
    VerdictKind.NOT_ENOUGH_DATA: "dim",
    VerdictKind.ERROR: "red",
}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def number(metric: str, value: float | None) -> str:
    """Rates as percent with 2 decimals, P95 in ms."""
    if value is None:
        return "-"
    if metric.endswith("_rate"):
        return f"{value * 100:.2f}%"
    return f"{value:.0f} ms"


def short_status(status: dict[str, Any]) -> str:
    stage = status.get("stage") or {}
    soaking = status["state"] in (Status.PROGRESSING, Status.PAUSED)
    index = stage.get("index") if soaking else None
    where = f" (stage {index + 1}/{len(stage.get('stages', []))})" if index is not None else ""
    return f"{status['state']} at {status['percent']}%{where} version {status['version']}"


def render_status(status: dict[str, Any]) -> Group:
    lines: list[Text | Table] = [
        Text(short_status(status), style="bold"),
        Text(
            f"time in stage {duration(status.get('time_in_stage_seconds'))}, "
            f"soak left {duration(status.get('soak_left_seconds'))}"
        ),
    ]
    if status.get("reason"):
        lines.append(Text(f"reason: {status['reason']}"))
    verdict = status.get("last_verdict")
    if not verdict:
        lines.append(Text("no verdict yet", style="dim"))
        return Group(*lines)
    lines.append(Text(f"last verdict: {verdict['verdict']} at {when(verdict.get('at'))}"))
    if verdict.get("detail"):
        lines.append(Text(verdict["detail"]))
    lines.append(verdict_table(verdict.get("metrics", [])))
    return Group(*lines)


def verdict_table(metrics: list[dict[str, Any]]) -> Table:
    table = Table("metric", "value", "warn", "breach", "window", "samples/needed", "verdict")
    for m in metrics:
        name = m["metric"]
        table.add_row(
            name,
            number(name, m["value"]),
            number(name, m["warn"]),
            number(name, m["breach"]),
            f"{m['window_seconds']}s",
            f"{m['samples']}/{m['needed']}",
            Text(m["verdict"], style=VERDICT_STYLE.get(m["verdict"], "")),
        )
    return table


def render_history(entries: list[dict[str, Any]]) -> Table:
    table = Table("at", "actor", "verb", "from", "to", "reason")
    for e in entries:
        table.add_row(
            when(e["at"]),
            e["actor"],
            e["verb"],
            f"{e['from_state']} {e['from_percent']}%",
            f"{e['to_state']} {e['to_percent']}%",
            e.get("reason") or "",
        )
    return table


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
