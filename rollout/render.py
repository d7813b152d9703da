"""Rich renderings of the admin API's JSON for `ion-rollout` (pure: JSON in, renderables out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rollout.judge.evidence import VerdictKind
from rollout.machine import Status

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
    """One row per check: its evidence E against its level, the effect and the counts."""
    table = Table(
        "check", "verdict", "evidence", "canary/baseline", "canary", "baseline", "seen/needed"
    )
    for m in metrics:
        table.add_row(
            m["metric"],
            Text(m["verdict"], style=VERDICT_STYLE.get(m["verdict"], "")),
            f"E {m['statistic']:.3g} / {m['threshold']:.3g} ({m.get('evidence', 0):.0%})",
            effect(m),
            f"{counts(m['canary_events'])}/{counts(m['canary_requests'])}",
            f"{counts(m['baseline_events'])}/{counts(m['baseline_requests'])}",
            f"{m['seen']}/{m['needed'] if m.get('needed') is not None else '-'}",
        )
    return table


def effect(m: dict[str, Any]) -> str:
    """`2.1x [1.2, 4]` for a comparative check; `6.00% (line 5.00%)` for a guard."""
    if m.get("kind") == "guard":
        rate = m.get("canary_rate")
        shown = "-" if rate is None else f"{rate * 100:.2f}%"
        return f"{shown} (line {m['line'] * 100:.2f}%)" + (" both" if m.get("shared") else "")
    high = "inf" if m.get("ratio_high") is None else f"{m['ratio_high']:.3g}"
    interval = f"[{m.get('ratio_low') or 0:.3g}, {high}]"
    if m.get("ratio") is None:
        return "-" if m.get("canary_rate") is None else f"{m['canary_rate'] * 100:.2f}% {interval}"
    return f"{m['ratio']:.3g}x {interval}"


def counts(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


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
