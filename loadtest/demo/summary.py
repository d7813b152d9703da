"""The demo's closing facts (pure): the ledger plus what the rollout API said, as one `Summary`.

The summary is what the audience should walk away with, and what the test asserts: the canary
was rolled back by the controller (not by the demo), nobody flipped back while the stage grew,
once the gateway had applied the rollback every request went to legacy, and how long the
controller took from the fault to the rollback, with the reason it recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from loadtest.demo.ledger import CANARY, LEGACY, Ledger, sides_since, split_moves

ROLLBACK_VERBS = ("auto_rollback", "rollback")
AUTO_ROLLBACK = "auto_rollback"


def find_rollback(history: Iterable[Mapping[str, Any]], since: float) -> Mapping[str, Any] | None:
    """The newest rollback row at or after `since` (history is newest first)."""
    for entry in history:
        if entry.get("verb") in ROLLBACK_VERBS and entry.get("at", 0) >= since:
            return entry
    return None


def breach_metric(entry: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The first metric that breached, from a rollback row's verdict details."""
    if not entry:
        return None
    verdict = (entry.get("details") or {}).get("verdict") or {}
    return next((m for m in verdict.get("metrics", []) if m.get("verdict") == "breach"), None)


@dataclass(frozen=True)
class Summary:
    requests: int
    user_errors: int
    sides: dict[str, int]
    errors_by_side: dict[str, int]
    users: int
    flips: int
    returned_users: int
    after_rollback: dict[str, int]
    fault_at: float | None
    rollback_at: float | None
    fault_to_rollback_s: float | None
    final_state: str | None
    final_percent: int | None
    rollback_verb: str | None
    rollback_actor: str | None
    rollback_reason: str | None
    breach: dict[str, Any] | None = None
    flip_examples: list[str] = field(default_factory=list)

    @property
    def rolled_back_automatically(self) -> bool:
        return self.rollback_verb == AUTO_ROLLBACK

    @property
    def all_legacy_after_rollback(self) -> bool:
        return self.after_rollback.get(LEGACY, 0) > 0 and sum(self.after_rollback.values()) == (
            self.after_rollback.get(LEGACY, 0)
        )

    @property
    def ok(self) -> bool:
        """The demo showed what it promises; `ion-demo` exits 0 only then."""
        return (
            self.rolled_back_automatically
            and self.flips == 0
            and self.all_legacy_after_rollback
            and self.final_percent == 0
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rolled_back_automatically"] = self.rolled_back_automatically
        data["all_legacy_after_rollback"] = self.all_legacy_after_rollback
        data["ok"] = self.ok
        return data


def build_summary(
    ledger: Ledger,
    *,
    fault_at: float | None,
    rollback: Mapping[str, Any] | None,
    final_status: Mapping[str, Any] | None,
    legacy_since: float | None,
) -> Summary:
    """Everything from the run; `legacy_since` is when the gateway confirmed the rollback."""
    rollback_at = rollback.get("at") if rollback else None
    flips, returns = split_moves(ledger.moves, rollback_at)
    sides = Counter(o.side for o in ledger.outcomes)
    errors = Counter(o.side for o in ledger.outcomes if not o.ok)
    took = rollback_at - fault_at if rollback_at is not None and fault_at is not None else None
    final = final_status or {}
    return Summary(
        requests=len(ledger.outcomes),
        user_errors=sum(errors.values()),
        sides=_sides(sides),
        errors_by_side=_sides(errors),
        users=len(ledger.users),
        flips=len(flips),
        returned_users=len({m.user for m in returns}),
        after_rollback=_sides(sides_since(ledger.outcomes, legacy_since)),
        fault_at=fault_at,
        rollback_at=rollback_at,
        fault_to_rollback_s=round(took, 3) if took is not None else None,
        final_state=final.get("state"),
        final_percent=final.get("percent"),
        rollback_verb=rollback.get("verb") if rollback else None,
        rollback_actor=rollback.get("actor") if rollback else None,
        rollback_reason=rollback.get("reason") if rollback else None,
        breach=dict(breach_metric(rollback) or {}) or None,
        flip_examples=[f"{m.user} at {m.stage}" for m in flips[:5]],
    )


def _sides(counts: Counter) -> dict[str, int]:
    """Both sides always present (0 is information), other keys only when seen."""
    base = {LEGACY: counts.get(LEGACY, 0), CANARY: counts.get(CANARY, 0)}
    return {**base, **{k: v for k, v in counts.items() if k not in base}}
