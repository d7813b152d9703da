"""The status document of `GET /admin/rollout` (pure): what an operator needs at a glance."""

from __future__ import annotations

from typing import Any

from rollout.machine import Machine, Status
from rollout.store import StoredState


def status_view(
    stored: StoredState, verdict: dict[str, Any] | None, machine: Machine, now: float
) -> dict[str, Any]:
    state = stored.state
    in_stage = now - state.entered_at if state.entered_at is not None else None
    soaking = state.status in (Status.PROGRESSING, Status.PAUSED)
    return {
        "state": state.status,
        "percent": state.percent,
        "stage": {
            "index": state.stage_index,
            "percent": state.percent,
            "stages": list(machine.plan.stages),
        },
        "version": stored.version,
        "salt": state.salt,
        "reason": state.reason,
        "started_at": state.started_at,
        "entered_at": state.entered_at,
        "time_in_stage_seconds": round(in_stage, 3) if in_stage is not None else None,
        "soak_left_seconds": round(machine.soak_left(state, now), 3) if soaking else None,
        "auto_advance": machine.auto_advance,
        "breach_action": machine.breach_action,
        "shared_breach_action": machine.shared_breach_action,
        "last_verdict": verdict,
        "updated_at": stored.updated_at,
    }
