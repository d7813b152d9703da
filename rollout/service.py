"""Applies rollout events (operator verbs and controller verdicts) to the store.

Read the state, run the pure `transition`, compare-and-set the new state together with its
history rows, then perform the remaining effects (notify, metrics) on the event loop. Store calls
run in a worker thread so the gateway's loop never blocks on SQLite.

Read-your-writes: `on_commit` (the gateway's routing swap) is called with the committed state
right after the compare-and-set returns, before any effect is performed and before `apply`
returns, so the process that decided a change routes by it before it logs, notifies or answers.
A lost compare-and-set hands it the winner's state too (`Conflict.current`): fresher than
anything this process had.

Conflicts: when two writers act on the same version, one wins and the other gets `Conflict`.
The loser is retried once, and only when the retry cannot double-apply anything: the verb must
still be valid and the winner must not have moved the rollout (same status, stage and percent;
e.g. the controller only stamped a warning). Two operators pressing "advance" at once therefore
advance once; the second gets a 409 naming the new state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from common.logging import get_logger
from rollout.machine import Count, Effect, Event, Machine, Notify, Record, RolloutState
from rollout.metrics import RolloutMetrics
from rollout.notify import Notifier, NullNotifier
from rollout.store import Conflict, HistoryEntry, RolloutStore, StoredState


class RolloutService:
    def __init__(
        self,
        store: RolloutStore,
        machine: Machine,
        *,
        clock: Callable[[], float],
        notifier: Notifier | None = None,
        metrics: RolloutMetrics | None = None,
        on_commit: Callable[[StoredState], None] | None = None,
    ) -> None:
        self.store = store
        self.on_commit = on_commit
        self.machine = machine
        self.clock = clock
        self.notifier = notifier or NullNotifier()
        self.metrics = metrics or RolloutMetrics()
        self._log = get_logger("rollout.service")

    async def apply(self, event: Event, *, expected_version: int | None = None) -> StoredState:
        """Apply `event`; raises InvalidTransition, Conflict or StoreError."""
        try:
            stored, effects = await asyncio.to_thread(self.write, event, expected_version)
        except Conflict as conflict:
            self._committed(conflict.current)
            raise
        self._committed(stored)
        self.perform(effects, stored.state)
        return stored

    def _committed(self, stored: StoredState) -> None:
        if self.on_commit is not None:
            self.on_commit(stored)

    def write(
        self, event: Event, expected_version: int | None = None
    ) -> tuple[StoredState, list[Effect]]:
        """The synchronous part: transition + compare-and-set (+ one safe retry)."""
        for attempt in range(2):
            current = self.store.read()
            if expected_version is not None and current.version != expected_version:
                raise Conflict(current)
            now = self.clock()
            new_state, effects = self.machine.transition(current.state, event, now)
            entries = history_entries(current.state, new_state, effects, now)
            if new_state == current.state and not entries:
                return current, []
            try:
                return self.store.compare_and_set(current.version, new_state, entries, now), effects
            except Conflict as conflict:
                if attempt or expected_version is not None or _moved(current, conflict.current):
                    raise
        raise AssertionError("unreachable")

    def perform(self, effects: list[Effect], state: RolloutState) -> None:
        for effect in effects:
            if isinstance(effect, Notify):
                self.notifier.notify(effect.kind, effect.payload)
            elif isinstance(effect, Count):
                self.metrics.count(effect)
            elif isinstance(effect, Record):
                self._log_record(effect, state)
        if effects:
            self.metrics.observe_state(state, self.clock())

    def _log_record(self, record: Record, state: RolloutState) -> None:
        event = {
            "rollback": "rollout.rolled_back",
            "auto_rollback": "rollout.rolled_back",
            "warn": "rollout.warned",
        }.get(record.verb, "rollout.transitioned")
        log = self._log.warning if event != "rollout.transitioned" else self._log.info
        log(event, verb=record.verb, actor=record.actor, reason=record.reason, **_brief(state))


def history_entries(
    old: RolloutState, new: RolloutState, effects: list[Effect], now: float
) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            now,
            e.actor,
            e.verb,
            e.reason,
            old.status,
            new.status,
            old.percent,
            new.percent,
            e.details,
        )
        for e in effects
        if isinstance(e, Record)
    ]


def _moved(before: StoredState, after: StoredState) -> bool:
    a, b = before.state, after.state
    return (a.status, a.stage_index, a.percent) != (b.status, b.stage_index, b.percent)


def _brief(state: RolloutState) -> dict[str, Any]:
    return {"state": state.status, "percent": state.percent, "stage_index": state.stage_index}
