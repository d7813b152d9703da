"""rollout/machine.py: every transition, every invalid one, verdict handling, effects as data."""

from __future__ import annotations

import pytest

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
from rollout.policy import MetricVerdict, Verdict, VerdictKind

PLAN = Plan((5, 10, 25, 50, 100), (100, 100, 200, 300))
NOW = 1_000.0


def at(status: Status, index: int | None = 0, entered_at: float = 0.0, **kw) -> RolloutState:
    percent = {Status.IDLE: 0, Status.ROLLED_BACK: 0, Status.COMPLETED: 100}.get(status)
    if percent is None:
        percent = PLAN.stages[index]
    return RolloutState(status, percent, index, None, 0.0, entered_at, **kw)


def verdict(kind: VerdictKind, window: int = 300) -> Verdict:
    metric = MetricVerdict("error_rate", kind, 0.5, 0.02, 0.05, 0.01, window, 100, 10)
    return Verdict(kind, (metric,), NOW)


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
    assert record.reason == "breach: error_rate 0.5 > 0.05 over 300s (100 samples)"
    assert record.details["verdict"]["metrics"][0]["value"] == 0.5


def test_warn_notifies_once_per_window():
    machine = Machine(PLAN)
    state, effects = machine.transition(
        at(Status.PROGRESSING, 1), Observed(verdict(VerdictKind.WARN, 300)), NOW
    )
    assert kinds(effects) == ["Record:warn", "Notify:warn"]
    assert state.status == Status.PROGRESSING and state.warned_at == NOW
    again, effects = machine.transition(state, Observed(verdict(VerdictKind.WARN, 300)), NOW + 299)
    assert (again, effects) == (state, [])
    _, effects = machine.transition(state, Observed(verdict(VerdictKind.WARN, 300)), NOW + 300)
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
