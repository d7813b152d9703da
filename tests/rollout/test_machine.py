"""rollout/machine.py: every transition, every invalid one, verdict handling, effects as data."""

from __future__ import annotations

import pytest

from rollout.judge.evidence import CheckEvidence, CheckKind, Verdict, VerdictKind
from rollout.machine import (
    Advance,
    Count,
    InvalidTransition,
    Machine,
    Notify,
    Observed,
    Pause,
    Record,
    Resume,
    Rollback,
    RolloutState,
    Start,
    Status,
)
from rollout.plan import Plan

PLAN = Plan((5, 10, 25, 50, 100), (100, 100, 200, 300))
NOW = 1_000.0


def at(status: Status, index: int | None = 0, entered_at: float = 0.0, **kw) -> RolloutState:
    percent = {Status.IDLE: 0, Status.ROLLED_BACK: 0, Status.COMPLETED: 100}.get(status)
    if percent is None:
        percent = PLAN.stages[index]
    return RolloutState(status, percent, index, None, 0.0, entered_at, **kw)


def verdict(kind: VerdictKind, shared: bool = False) -> Verdict:
    metric = CheckEvidence(
        "error_rate", CheckKind.VS_BASELINE, kind, 5000.0, 4000.0, 50, 100, 10, 1000, 100, 400,
        5.0, 2.0, 16.0, 0.5, 0.01,
    )  # fmt: skip
    guard = CheckEvidence(
        "guard_error_rate", CheckKind.GUARD, kind, 9e5, 1e5, 50, 100, 100, 1000, 100, None,
        canary_rate=0.5, baseline_rate=0.1, line=0.05, baseline_statistic=2e5, shared=shared,
    )  # fmt: skip
    return Verdict(kind, (guard,) if shared else (metric,), NOW, shared=shared)


def kinds(effects) -> list[str]:
    return [type(e).__name__ + ":" + getattr(e, "kind", getattr(e, "verb", "")) for e in effects]


# operator verbs -----------------------------------------------------------------------------

VALID = [
    ("start from idle", at(Status.IDLE, None), Start(salt="s1"), Status.PROGRESSING, 5),
    ("new rollout after rollback", at(Status.ROLLED_BACK), Start(), Status.PROGRESSING, 5),
    ("new rollout after completion", at(Status.COMPLETED, 4), Start(), Status.PROGRESSING, 5),
    ("advance 5 -> 10", at(Status.PROGRESSING, 0), Advance(), Status.PROGRESSING, 10),
    ("advance 25 -> 50", at(Status.PROGRESSING, 2), Advance(), Status.PROGRESSING, 50),
    ("advance into 100 completes", at(Status.PROGRESSING, 3), Advance(), Status.COMPLETED, 100),
    ("pause holds percent", at(Status.PROGRESSING, 2), Pause(), Status.PAUSED, 25),
    ("resume at the same stage", at(Status.PAUSED, 2), Resume(), Status.PROGRESSING, 25),
    (
        "rollback from progressing",
        at(Status.PROGRESSING, 1),
        Rollback("bad"),
        Status.ROLLED_BACK,
        0,
    ),
    ("rollback from paused", at(Status.PAUSED, 1), Rollback(), Status.ROLLED_BACK, 0),
    (
        "emergency rollback from 100",
        at(Status.COMPLETED, 4),
        Rollback(emergency=True),
        Status.ROLLED_BACK,
        0,
    ),
]


@pytest.mark.parametrize(("why", "state", "event", "status", "percent"), VALID)
def test_valid_transitions(why, state, event, status, percent):
    new, effects = Machine(PLAN).transition(state, event, NOW)
    assert (new.status, new.percent) == (status, percent), why
    record = next(e for e in effects if isinstance(e, Record))
    assert record.verb == event.verb and record.actor == "operator"
    assert Count("transitions", event.verb) in effects


INVALID = [
    (Status.IDLE, Advance()),
    (Status.IDLE, Pause()),
    (Status.IDLE, Resume()),
    (Status.IDLE, Rollback()),
    (Status.PROGRESSING, Start()),
    (Status.PROGRESSING, Resume()),
    (Status.PAUSED, Start()),
    (Status.PAUSED, Advance()),
    (Status.PAUSED, Pause()),
    (Status.ROLLED_BACK, Advance()),
    (Status.ROLLED_BACK, Pause()),
    (Status.ROLLED_BACK, Resume()),
    (Status.ROLLED_BACK, Rollback()),
    (Status.COMPLETED, Advance()),
    (Status.COMPLETED, Pause()),
    (Status.COMPLETED, Resume()),
]


@pytest.mark.parametrize(("status", "event"), INVALID)
def test_invalid_transitions_name_state_and_verb(status, event):
    state = at(status, None if status == Status.IDLE else 4 if status == Status.COMPLETED else 1)
    with pytest.raises(InvalidTransition) as info:
        Machine(PLAN).transition(state, event, NOW)
    assert (info.value.state, info.value.verb) == (status, event.verb)
    assert status in str(info.value) and event.verb in str(info.value)


def test_start_stamps_salt_and_times():
    new, effects = Machine(PLAN).transition(at(Status.IDLE, None), Start(salt="wave2"), NOW)
    assert (new.salt, new.started_at, new.entered_at, new.stage_index) == ("wave2", NOW, NOW, 0)
    assert Notify("start", {"state": Status.PROGRESSING, "percent": 5, "reason": None}) in effects


def test_rollback_counts_and_notifies():
    _, effects = Machine(PLAN).transition(at(Status.PROGRESSING, 1), Rollback("latency"), NOW)
    assert kinds(effects) == [
        "Record:rollback",
        "Notify:rollback",
        "Count:",
        "Count:",
    ]
    assert Count("rollbacks", "rollback") in effects
    assert effects[0].details == {"emergency": False}


# controller verdicts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "index", "status", "percent", "verb"),
    [
        ("rollback", 2, Status.ROLLED_BACK, 0, "auto_rollback"),
        ("pause", 2, Status.PAUSED, 25, "auto_pause"),
        ("step_back", 2, Status.PROGRESSING, 10, "auto_step_back"),
        ("step_back", 0, Status.ROLLED_BACK, 0, "auto_rollback"),  # nothing below the first stage
    ],
)
def test_breach_applies_the_breach_action(action, index, status, percent, verb):
    machine = Machine(PLAN, breach_action=action)
    new, effects = machine.transition(
        at(Status.PROGRESSING, index), Observed(verdict(VerdictKind.BREACH)), NOW
    )
    assert (new.status, new.percent) == (status, percent)
    record = effects[0]
    assert (record.verb, record.actor) == (verb, "controller")
    assert record.reason == (
        "breach: error_rate 5x baseline [2, 16] (E=5e+03 vs 4e+03; canary 50/100, baseline 10/1000)"
    )
    assert record.details["verdict"]["metrics"][0]["ratio"] == 5.0
    notify = next(e for e in effects if isinstance(e, Notify))
    assert notify.payload["evidence"] == record.reason.removeprefix("breach: ")
    assert notify.payload["verdict"]["metrics"][0]["statistic"] == 5000.0


@pytest.mark.parametrize(
    ("shared_action", "status"), [("pause", Status.PAUSED), ("rollback", Status.ROLLED_BACK)]
)
def test_shared_breach_applies_the_shared_breach_action(shared_action, status):
    machine = Machine(PLAN, shared_breach_action=shared_action)
    new, effects = machine.transition(
        at(Status.PROGRESSING, 1), Observed(verdict(VerdictKind.BREACH, True)), NOW
    )
    assert new.status == status
    assert "not the canary's fault" in effects[0].reason
    assert "canary and baseline over 5.00%" in effects[0].reason
    assert any(isinstance(e, Notify) for e in effects)


def test_warn_notifies_at_most_every_warn_repeat_seconds():
    machine = Machine(PLAN, warn_repeat_seconds=300)
    state, effects = machine.transition(
        at(Status.PROGRESSING, 1), Observed(verdict(VerdictKind.WARN)), NOW
    )
    assert kinds(effects) == ["Record:warn", "Notify:warn"]
    assert state.status == Status.PROGRESSING and state.warned_at == NOW
    again, effects = machine.transition(state, Observed(verdict(VerdictKind.WARN)), NOW + 299)
    assert (again, effects) == (state, [])
    _, effects = machine.transition(state, Observed(verdict(VerdictKind.WARN)), NOW + 300)
    assert kinds(effects) == ["Record:warn", "Notify:warn"]


@pytest.mark.parametrize(
    ("why", "auto", "entered_at", "kind", "advanced"),
    [
        ("healthy, soaked, auto on", True, NOW - 100, VerdictKind.HEALTHY, True),
        ("healthy but soak not elapsed", True, NOW - 99, VerdictKind.HEALTHY, False),
        ("healthy, soaked, auto off", False, NOW - 1000, VerdictKind.HEALTHY, False),
        ("not enough data never advances", True, NOW - 1000, VerdictKind.NOT_ENOUGH_DATA, False),
    ],
)
def test_auto_advance(why, auto, entered_at, kind, advanced):
    machine = Machine(PLAN, auto_advance=auto)
    state = at(Status.PROGRESSING, 0, entered_at)
    new, effects = machine.transition(state, Observed(verdict(kind)), NOW)
    assert (new.percent == 10) is advanced, why
    if advanced:
        assert effects[0].verb == "auto_advance" and new.entered_at == NOW
    else:
        assert (new, effects) == (state, [])


@pytest.mark.parametrize(
    "status", [Status.IDLE, Status.PAUSED, Status.ROLLED_BACK, Status.COMPLETED]
)
def test_verdicts_outside_progressing_do_nothing(status):
    state = at(status, None if status == Status.IDLE else 4 if status == Status.COMPLETED else 1)
    assert Machine(PLAN).transition(state, Observed(verdict(VerdictKind.BREACH)), NOW) == (
        state,
        [],
    )


def test_soak_left_counts_from_stage_entry():
    machine = Machine(PLAN)
    assert machine.soak_left(at(Status.PROGRESSING, 2, entered_at=NOW - 50), NOW) == 150
    assert machine.soak_left(at(Status.COMPLETED, 4, entered_at=0), NOW) == 0


def test_state_round_trips_through_dict():
    state = at(Status.PAUSED, 3, 12.5, reason="why", warned_at=3.0)
    assert RolloutState.from_dict(state.to_dict()) == state


def test_a_breach_without_baseline_events_names_both_rates():
    evidence = CheckEvidence(
        "error_rate", CheckKind.VS_BASELINE, VerdictKind.BREACH, 7.6e5, 1.45e4, 21, 215, 0, 266,
        215, None, None, 1.41, None, 0.0977, 0.0,
    )  # fmt: skip
    assert evidence.describe().startswith("error_rate 9.77% vs baseline 0.00%, ratio [1.41, inf]")
