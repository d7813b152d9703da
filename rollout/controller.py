"""The controller: after every flush, judge the canary and feed the verdict to the machine.

Only the holder of the store's lease acts, so with several gateway processes (and perhaps an
`ion-rollout controller` process) exactly one controller decides; the others keep trying and
take over within one lease TTL when the holder dies. The judge (rollout.judge) sees the stage's
settled seconds, each read once: counts accumulate since the stage began, never before it.

It ticks every flush interval (<= 1 s), so a breach is acted on within one flush of the
second whose rows pushed the evidence over its level being settled (`settle_seconds` after it
ended). The verdict is stored (every process's `GET /admin/rollout` shows it) and applied
through the service: breach -> breach action at once (the shared-breach action when canary
and baseline are both past a guard), warn -> notified at most every `warn_repeat_seconds`,
healthy and soaked -> advance only with auto_advance (all decided by the pure machine).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

from common.logging import get_logger
from rollout.judge.evidence import Verdict, failed_read
from rollout.judge.judge import JudgeConfig
from rollout.judge.tracker import StageTracker
from rollout.machine import Observed, RolloutState, Status
from rollout.metrics import RolloutMetrics
from rollout.service import RolloutService
from rollout.store import RolloutStore, StoreError


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(object()):x}"


class Controller:
    def __init__(
        self,
        store: RolloutStore,
        service: RolloutService,
        config: JudgeConfig,
        *,
        clock: Callable[[], float],
        holder: str | None = None,
        lease_ttl_seconds: float = 15.0,
        interval_seconds: float = 1.0,
        settle_seconds: float = 1.5,
        metrics: RolloutMetrics | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.clock = clock
        self.holder = holder or default_holder()
        self.lease_ttl_seconds = lease_ttl_seconds
        self.interval_seconds = interval_seconds
        self.settle_seconds = settle_seconds
        self.metrics = metrics or service.metrics
        self.tracker = StageTracker(config)
        self.leader = False
        self._log = get_logger("rollout.controller")

    async def tick(self) -> Verdict | None:
        """One check: None when not the leader or nothing is being rolled out."""
        now = self.clock()
        if not await self._hold_lease(now):
            self.tracker.reset()  # another leader may move the stage on; rebuild when back
            return None
        stored = await asyncio.to_thread(self.store.read)
        if stored.state.status not in (Status.PROGRESSING, Status.PAUSED):
            self.tracker.reset()
            return None
        verdict = await asyncio.to_thread(self.observe, stored.state, now)
        self.metrics.observe_verdict(verdict)
        await asyncio.to_thread(self.store.record_verdict, verdict.to_dict())
        await self.service.apply(Observed(verdict))
        return verdict

    def observe(self, state: RolloutState, now: float) -> Verdict:
        """Feed the judge the seconds settled since the last tick and read its verdict."""
        try:
            judge = self.tracker.catch_up(self.store, state, now, self.settle_seconds)
        except StoreError as exc:
            return failed_read(f"store unreadable: {exc}", now)
        return judge.verdict(now)

    async def run(self) -> None:
        """Tick forever; a failed tick is logged and retried on the next interval."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log.warning("rollout.controller_tick_failed", error=repr(exc))
            await asyncio.sleep(self.interval_seconds)

    async def release(self) -> None:
        if self.leader:
            await asyncio.to_thread(self.store.release_lease, self.holder)
            self.leader = False

    async def _hold_lease(self, now: float) -> bool:
        held = await asyncio.to_thread(
            self.store.acquire_lease, self.holder, self.lease_ttl_seconds, now
        )
        if held != self.leader:
            event = "rollout.lease_acquired" if held else "rollout.lease_lost"
            self._log.info(event, holder=self.holder)
        self.leader = held
        return held
