"""What the audience sees (pure: the demo's state in, rich renderables out).

The `Board` is the whole screen's state: narration lines, the last rollout status and the
ledger. `render_board` draws it for `rich.live.Live` (or once per act when the output is not a
terminal); `render_summary` draws the closing table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from loadtest.demo.ledger import CANARY, Ledger, StageTally, split_moves
from loadtest.demo.summary import Summary
from rollout.render import VERDICT_STYLE, counts, effect, short_status

MAX_EVENTS = 6


@dataclass
class Board:
    title: str
    ledger: Ledger
    started_at: float
    events: list[tuple[float, str]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    rollback_at: float | None = None

    def say(self, now: float, text: str) -> str:
        line = f"[{now - self.started_at:6.1f}s] {text}"
        self.events.append((now, line))
        return line


def pct(value: float) -> str:
    return f"{value * 100:5.1f}%"


def stage_row(tally: StageTally) -> list[str]:
    canary_users = len(tally.users[CANARY])
    return [
        tally.label,
        pct(tally.expected_users),
        f"{pct(tally.canary_user_share)} {canary_users}/{tally.users_seen}",
        f"{pct(tally.canary_request_share)} {tally.requests[CANARY]}/{tally.total_requests}",
        str(tally.total_errors),
    ]


def stage_line(tally: StageTally) -> str:
    """One stage in one line, for plain (non-terminal) output."""
    stage, expected, users, requests, errors = stage_row(tally)
    return (
        f"{stage}: users on canary {users.strip()} (expected {expected.strip()}), "
        f"requests on canary {requests.strip()}, user errors {errors}"
    )


def stage_table(ledger: Ledger) -> Table:
    """One row per stage; `expected users` is exact for this population (bucket < percent)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("stage")
    for name in ("expected users", "users on canary", "requests on canary", "user errors"):
        table.add_column(name, justify="right")
    for tally in ledger.stages:
        table.add_row(*stage_row(tally))
    return table


def flips_line(ledger: Ledger, rollback_at: float | None) -> Text:
    flips, returns = split_moves(ledger.moves, rollback_at)
    style = "bold green" if not flips else "bold red"
    text = Text(f"users flipped back canary -> legacy while the stage grew: {len(flips)}")
    text.stylize(style)
    if returns:
        text.append(f"   (sent home by the rollback: {len({m.user for m in returns})})")
    return text


def metric_line(m: dict[str, Any]) -> Text:
    """`error_rate   breach E 5.8e+03/4e+03 4.5x [1, 16] canary 16/376 baseline 64/6830`."""
    verdict = m["verdict"]
    text = Text(f"  {m['metric']:<18} ")
    text.append(f"{verdict:<15}", style=VERDICT_STYLE.get(verdict, ""))
    text.append(f" E {m['statistic']:.2g}/{m['threshold']:.2g} {effect(m)}, ")
    text.append(f"canary {counts(m['canary_events'])}/{counts(m['canary_requests'])}")
    return text


def status_block(status: dict[str, Any] | None) -> Group:
    if not status:
        return Group(Text("rollout: unknown", style="dim"))
    parts: list[Any] = [Text(f"rollout: {short_status(status)}", style="bold")]
    verdict = status.get("last_verdict")
    if verdict:
        parts[0].append(f"   last verdict {verdict['verdict']} at {_clock(verdict.get('at'))}")
        parts.extend(metric_line(m) for m in verdict.get("metrics", []))
    return Group(*parts)


def render_board(board: Board) -> Panel:
    lines = [text for _, text in board.events[-MAX_EVENTS:]]
    body = Group(
        Text("\n".join(lines) or "starting ...", no_wrap=True, overflow="ellipsis"),
        stage_table(board.ledger),
        flips_line(board.ledger, board.rollback_at),
        status_block(board.status),
    )
    return Panel(body, title=board.title, title_align="left")


def render_summary(summary: Summary) -> Table:
    table = Table("summary", "value", title="ion-demo summary", title_justify="left")
    for key, value in summary_rows(summary):
        table.add_row(key, value)
    return table


def summary_rows(s: Summary) -> list[tuple[str, str]]:
    breach = s.breach or {}
    rows = [
        ("requests", str(s.requests)),
        ("errors seen by users (non-2xx)", _by_side(s.user_errors, s.errors_by_side)),
        ("requests per side", ", ".join(f"{k} {v}" for k, v in s.sides.items())),
        ("simulated users", str(s.users)),
        ("user flips canary -> legacy (must be 0)", str(s.flips)),
        ("users sent home by the rollback", str(s.returned_users)),
        ("requests after the gateway applied it", _after(s.after_rollback)),
        ("fault injected -> rollback", _seconds(s.fault_to_rollback_s)),
        ("rolled back by", f"{s.rollback_actor or '-'} ({s.rollback_verb or 'no rollback'})"),
        ("breach", _breach(breach) if breach else "-"),
        ("rollback reason", s.rollback_reason or "-"),
        ("final state", f"{s.final_state} at {s.final_percent}%"),
        ("result", "OK" if s.ok else "NOT AS EXPECTED"),
    ]
    return rows


def _by_side(total: int, by_side: dict[str, int]) -> str:
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in by_side.items()) + ")"


def _after(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{counts.get('legacy', 0)}/{total} on legacy" if total else "none measured"


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "-"


def _breach(m: dict[str, Any]) -> str:
    return (
        f"{m.get('metric', '?')} {effect(m)}: evidence E {m['statistic']:.3g} >= "
        f"{m['threshold']:.3g}, canary {counts(m['canary_events'])}/"
        f"{counts(m['canary_requests'])}, baseline {counts(m['baseline_events'])}/"
        f"{counts(m['baseline_requests'])} (seen {m.get('seen')}, needed {m.get('needed')})"
    )


def _clock(at: float | None) -> str:
    return dt.datetime.fromtimestamp(at).strftime("%H:%M:%S") if at else "-"
