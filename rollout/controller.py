"""The controller: every check interval, judge the canary and feed the verdict to the machine.

Only the holder of the store's lease acts, so with several gateway processes (and perhaps an
`ion-rollout controller` process) exactly one controller decides; the others keep trying and
take over within one lease TTL when the holder dies. Windows are built for target `canary`
from the store's per-second aggregates, `now - window .. now`, but never reach back before the
current rollout started: a new rollout is not judged on the previous one's failures.

The verdict is stored (every process's `GET /admin/rollout` shows it) and applied through the
service, so breach -> breach action at once, warn -> notified once per window, healthy and soaked
-> advance only with auto_advance (all decided by the pure machine).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence

from common.logging import get_logger
from gateway.routing import Target
from rollout.machine import Observed, RolloutState, Status
from rollout.metrics import RolloutMetrics
from rollout.policy import MetricRule, Verdict, WindowStats, assess, failed_read
from rollout.service import RolloutService
from rollout.store import RolloutStore, StoreError


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(object()):x}"


class Controller:
    def __init__(
        self,
        store: RolloutStore,
        service: RolloutService,
        rules: Sequence[MetricRule],
        min_samples: int,
        *,
        clock: Callable[[], float],
        holder: str | None = None,
        lease_ttl_seconds: float = 15.0,
        check_interval_seconds: float = 5.0,
        metrics: RolloutMetrics | None = None,
        target: Target = Target.CANARY,
    ) -> None:
        self.store = store
        self.service = service
        self.rules = tuple(rules)
        self.min_samples = min_samples
        self.clock = clock
        self.holder = holder or default_holder()
        self.lease_ttl_seconds = lease_ttl_seconds
        self.check_interval_seconds = check_interval_seconds
        self.metrics = metrics or service.metrics
        self.target = target
        self.leader = False
        self._log = get_logger("rollout.controller")

    async def tick(self) -> Verdict | None:
        """One check: None when not the leader or nothing is being rolled out."""
        now = self.clock()
        if not await self._hold_lease(now):
            return None
        stored = await asyncio.to_thread(self.store.read)
        if stored.state.status not in (Status.PROGRESSING, Status.PAUSED):
            return None
        verdict = await asyncio.to_thread(self.observe, stored.state, now)
        self.metrics.observe_verdict(verdict)
        await asyncio.to_thread(self.store.record_verdict, verdict.to_dict())
        await self.service.apply(Observed(verdict))
        return verdict

    def observe(self, state: RolloutState, now: float) -> Verdict:
        """Read one window per distinct rule window and assess them (sync; store I/O).

        A window is the last `w` whole seconds, `[now - w, now)`: the current second is still
        filling in every process and would only add noise.
        """
        until = int(now)
        floor = int(state.started_at) if state.started_at is not None else 0
        try:
            stats: dict[int, WindowStats] = {
                w: self.store.window(self.target, max(until - w, floor), until)
                for w in {rule.window_seconds for rule in self.rules}
            }
        except StoreError as exc:
            return failed_read(f"store unreadable: {exc}", now)
        return assess(stats, self.rules, self.min_samples, at=now)

    async def run(self) -> None:
        """Tick forever; a failed tick is logged and retried on the next interval."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log.warning("rollout.controller_tick_failed", error=repr(exc))
            await asyncio.sleep(self.check_interval_seconds)

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
