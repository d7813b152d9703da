"""The rollout state machine (pure): `(state, event, now) -> (state, effects)`.

States (DESIGN.md "Rollout"): `idle` 0 %, `progressing` at stage i, `paused` (holds its percent,
nothing automatic), `rolled_back` 0 % with reason and numbers, `completed` 100 %.

Decisions, so nobody has to guess:
- `start` is valid from idle, rolled_back and completed: each begins a new rollout at stage 0
  (optionally with a new salt, so a different slice of users goes first).
- `advance` is valid only while progressing; advancing into the last stage (100 %) completes the
  rollout, since the last stage has no soak and nothing left to decide. Paused must resume first.
- `rollback` is valid from progressing, paused and completed (an emergency rollback from 100 %
  is exactly when it matters); an emergency rollback is the same verb, flagged in the history.
- A controller verdict is only acted on while progressing; in any other state it is a no-op
  (the controller may race an operator). Breach applies the configured breach action (the
  shared-breach action, pause by default, when canary and baseline are both past an absolute
  guard: not the canary's fault); warn notifies at most every `warn_repeat_seconds`; healthy
  advances only when auto_advance is on and the stage has soaked long enough. Not-enough-data
  and failed reads do nothing.

The machine performs nothing: it returns effects (`Record` a history row, `Notify` a webhook,
`Count` a metric) for the service to apply, argo style.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, TypeAlias, assert_never

from rollout.judge.evidence import Verdict, VerdictKind
from rollout.plan import Plan


class Status(StrEnum):
    """The state a rollout is in; the values are what the store, the API and the logs carry."""

    IDLE = "idle"
    PROGRESSING = "progressing"
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"


BREACH_ACTIONS = ("rollback", "pause", "step_back")


class InvalidTransition(Exception):
    """The verb is not valid in the current state; names both."""

    def __init__(self, state: Status, verb: str) -> None:
        super().__init__(f"cannot {verb} while {state}")
        self.state = state
        self.verb = verb


@dataclass(frozen=True, slots=True)
class RolloutState:
    status: Status = Status.IDLE
    percent: int = 0
    stage_index: int | None = None
    salt: str | None = None
    started_at: float | None = None  # windows never reach back before the rollout began
    entered_at: float | None = None  # start of the current stage: soak counts from here
    reason: str | None = None
    warned_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutState:
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "status" in known:
            known["status"] = Status(known["status"])
        return cls(**known)


@dataclass(frozen=True, slots=True)
class Start:
    salt: str | None = None
    actor: str = "operator"
    verb = "start"


@dataclass(frozen=True, slots=True)
class Advance:
    actor: str = "operator"
    reason: str | None = None
    verb = "advance"


@dataclass(frozen=True, slots=True)
class Pause:
    actor: str = "operator"
    reason: str | None = None
    verb = "pause"


@dataclass(frozen=True, slots=True)
class Resume:
    actor: str = "operator"
    verb = "resume"


@dataclass(frozen=True, slots=True)
class Rollback:
    reason: str | None = None
    actor: str = "operator"
    emergency: bool = False
    verb = "rollback"


@dataclass(frozen=True, slots=True)
class Observed:
    verdict: Verdict
    actor: str = "controller"
    verb = "verdict"


Event: TypeAlias = Start | Advance | Pause | Resume | Rollback | Observed


@dataclass(frozen=True, slots=True)
class Record:
    """A history row: the service fills in from/to state and percent."""

    verb: str
    actor: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notify:
    kind: str  # rollback | warn | advance | complete | pause | step_back | start
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Count:
    counter: str  # transitions | rollbacks
    reason: str = ""


Effect: TypeAlias = Record | Notify | Count
Transition: TypeAlias = tuple[RolloutState, list[Effect]]


class Machine:
    def __init__(
        self,
        plan: Plan,
        *,
        breach_action: str = "rollback",
        auto_advance: bool = False,
        shared_breach_action: str = "pause",
        warn_repeat_seconds: float = 300.0,
    ) -> None:
        if breach_action not in BREACH_ACTIONS or shared_breach_action not in BREACH_ACTIONS:
            raise ValueError(f"breach actions must be one of {BREACH_ACTIONS}")
        self.plan = plan
        self.breach_action = breach_action
        self.shared_breach_action = shared_breach_action
        self.auto_advance = auto_advance
        self.warn_repeat_seconds = warn_repeat_seconds

    def transition(self, state: RolloutState, event: Event, now: float) -> Transition:
        match event:
            case Start():
                return self._on_start(state, event, now)
            case Advance():
                return self._on_advance(state, event, now)
            case Pause():
                return self._on_pause(state, event)
            case Resume():
                return self._on_resume(state, event)
            case Rollback():
                return self._on_rollback(state, event, now)
            case Observed():
                return self._on_verdict(state, event.verdict, now)
        assert_never(event)

    # operator verbs -------------------------------------------------------------------------

    def _on_start(self, state: RolloutState, event: Start, now: float) -> Transition:
        _require(state, event.verb, Status.IDLE, Status.ROLLED_BACK, Status.COMPLETED)
        new = RolloutState(Status.PROGRESSING, self.plan.percent_at(0), 0, event.salt, now, now)
        return new, _moved("start", event.actor, None, new, {"salt": event.salt})

    def _on_advance(self, state: RolloutState, event: Advance, now: float) -> Transition:
        _require(state, event.verb, Status.PROGRESSING)
        return self._advance(state, event.actor, event.reason, now)

    def _on_pause(self, state: RolloutState, event: Pause) -> Transition:
        _require(state, event.verb, Status.PROGRESSING)
        new = replace(state, status=Status.PAUSED, reason=event.reason)
        return new, _moved("pause", event.actor, event.reason, new)

    def _on_resume(self, state: RolloutState, event: Resume) -> Transition:
        _require(state, event.verb, Status.PAUSED)
        new = replace(state, status=Status.PROGRESSING, reason=None)
        return new, _moved("resume", event.actor, None, new)

    def _on_rollback(self, state: RolloutState, event: Rollback, now: float) -> Transition:
        _require(state, event.verb, Status.PROGRESSING, Status.PAUSED, Status.COMPLETED)
        reason = event.reason or "operator rollback"
        return self._roll_back(state, event.actor, reason, {"emergency": event.emergency}, now)

    # controller verdicts --------------------------------------------------------------------

    def _on_verdict(self, state: RolloutState, verdict: Verdict, now: float) -> Transition:
        if state.status != Status.PROGRESSING:
            return state, []
        if verdict.verdict == VerdictKind.BREACH:
            return self._on_breach(state, verdict, now)
        if verdict.verdict == VerdictKind.WARN:
            return self._on_warn(state, verdict, now)
        if verdict.verdict == VerdictKind.HEALTHY and self.auto_advance and self.soaked(state, now):
            return self._advance(state, "controller", "healthy and soak elapsed", now, verdict)
        return state, []

    def soaked(self, state: RolloutState, now: float) -> bool:
        return self.soak_left(state, now) <= 0

    def soak_left(self, state: RolloutState, now: float) -> float:
        if state.stage_index is None or state.entered_at is None:
            return 0.0
        return max(0.0, state.entered_at + self.plan.soak_at(state.stage_index) - now)

    def _on_breach(self, state: RolloutState, verdict: Verdict, now: float) -> Transition:
        reason = verdict.reason()
        action = self.shared_breach_action if verdict.shared else self.breach_action
        details = {"verdict": verdict.to_dict(), "breach_action": action}
        new, effects = self._breach_move(state, action, reason, details, now)
        return new, [_with_evidence(e, verdict) for e in effects]

    def _breach_move(
        self, state: RolloutState, action: str, reason: str, details: dict[str, Any], now: float
    ) -> Transition:
        if action == "pause":
            new = replace(state, status=Status.PAUSED, reason=reason)
            return new, _moved("auto_pause", "controller", reason, new, details, kind="pause")
        if action == "step_back" and state.stage_index:
            index = state.stage_index - 1
            new = replace(
                state, stage_index=index, percent=self.plan.percent_at(index), entered_at=now
            )
            new = replace(new, reason=reason)
            return new, _moved("auto_step_back", "controller", reason, new, details, "step_back")
        return self._roll_back(state, "controller", reason, details, now, verb="auto_rollback")

    def _on_warn(self, state: RolloutState, verdict: Verdict, now: float) -> Transition:
        if state.warned_at is not None and now - state.warned_at < self.warn_repeat_seconds:
            return state, []
        reason = verdict.reason()
        new = replace(state, warned_at=now)
        record = Record("warn", "controller", reason, {"verdict": verdict.to_dict()})
        return new, [record, _with_evidence(Notify("warn", _payload(new, reason)), verdict)]

    # shared moves ---------------------------------------------------------------------------

    def _advance(
        self,
        state: RolloutState,
        actor: str,
        reason: str | None,
        now: float,
        verdict: Verdict | None = None,
    ) -> Transition:
        index = (state.stage_index or 0) + 1
        status = Status.COMPLETED if index >= self.plan.last_index else Status.PROGRESSING
        index = min(index, self.plan.last_index)
        new = replace(
            state,
            status=status,
            stage_index=index,
            percent=self.plan.percent_at(index),
            entered_at=now,
            reason=reason,
            warned_at=None,
        )
        details = {"verdict": verdict.to_dict()} if verdict else {}
        kind = "complete" if status == Status.COMPLETED else "advance"
        verb = "advance" if actor != "controller" else "auto_advance"
        return new, _moved(verb, actor, reason, new, details, kind)

    def _roll_back(
        self,
        state: RolloutState,
        actor: str,
        reason: str,
        details: dict[str, Any],
        now: float,
        verb: str = "rollback",
    ) -> Transition:
        new = replace(
            state,
            status=Status.ROLLED_BACK,
            percent=0,
            entered_at=now,
            reason=reason,
            warned_at=None,
        )
        effects = _moved(verb, actor, reason, new, details, "rollback")
        return new, [*effects, Count("rollbacks", verb)]


def _require(state: RolloutState, verb: str, *allowed: Status) -> None:
    if state.status not in allowed:
        raise InvalidTransition(state.status, verb)


def _with_evidence(effect: Effect, verdict: Verdict) -> Effect:
    """The webhook carries the evidence too: each deciding check, and the whole verdict."""
    if not isinstance(effect, Notify):
        return effect
    deciding = verdict.worst(verdict.verdict)
    extra = {"evidence": "; ".join(m.describe() for m in deciding), "verdict": verdict.to_dict()}
    return Notify(effect.kind, {**effect.payload, **extra})


def _payload(state: RolloutState, reason: str | None) -> dict[str, Any]:
    return {"state": state.status, "percent": state.percent, "reason": reason}


def _moved(
    verb: str,
    actor: str,
    reason: str | None,
    new: RolloutState,
    details: dict[str, Any] | None = None,
    kind: str | None = None,
) -> list[Effect]:
    """The effects every state change carries: history row, notification, transition counter."""
    return [
        Record(verb, actor, reason, dict(details or {})),
        Notify(kind or verb, _payload(new, reason)),
        Count("transitions", verb),
    ]
