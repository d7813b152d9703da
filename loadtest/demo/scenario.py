"""The demo's acts, in order: baseline, ramp through the stages, fault, rollback, verification.

Traffic runs the whole time in the background; each act only talks to the admin APIs, waits,
and tells the narrator what happened. Whatever happens (an error, Ctrl-C), the canary is healed
and a rollout the demo started is not left running: a demo must leave the system as it found it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from loadtest.demo.admin import DemoError, RolloutAdmin
from loadtest.demo.ledger import Ledger
from loadtest.demo.plan import DemoPlan, ramp_stages, stage_label, startable
from loadtest.demo.summary import Summary, build_summary, find_rollback
from loadtest.demo.traffic import Traffic
from rollout.machine import Status

APPLY_TIMEOUT_S = 5.0
CLEANUP_TIMEOUT_S = 5.0


class Narrator(Protocol):
    def say(self, text: str) -> None: ...

    def status(self, status: dict[str, Any]) -> None: ...

    def act_done(self) -> None: ...

    def rolled_back(self, at: float) -> None: ...


class Scenario:
    def __init__(
        self,
        admin: RolloutAdmin,
        traffic: Traffic,
        ledger: Ledger,
        plan: DemoPlan,
        narrator: Narrator,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.admin, self.traffic, self.ledger = admin, traffic, ledger
        self.plan, self.narrator, self.clock = plan, narrator, clock
        self.started_at: float | None = None
        self.fault_at: float | None = None
        self.rollback: dict[str, Any] | None = None
        self.legacy_since: float | None = None

    async def run(self) -> Summary:
        status = await self.prepare()
        self.traffic.start()
        try:
            await self.baseline(status)
            await self.ramp(status["stage"]["stages"])
            await self.inject_fault()
            await self.await_rollback()
            await self.verify()
        finally:
            await self.traffic.stop()
            await self.cleanup()
        return build_summary(
            self.ledger,
            fault_at=self.fault_at,
            rollback=self.rollback,
            final_status=await self.admin.status(),
            legacy_since=self.legacy_since,
        )

    async def prepare(self) -> dict[str, Any]:
        await self.admin.set_faults()
        status = await self.admin.status()
        if not startable(status["state"]):
            raise DemoError(
                f"a rollout is already {status['state']} at {status['percent']}%; finish or roll "
                "it back first (ion-rollout rollback), or run the demo on its own stack"
            )
        self.narrator.status(status)
        return status

    async def baseline(self, status: dict[str, Any]) -> None:
        self.ledger.begin_stage(stage_label(status["percent"], "before"), status["percent"])
        self.narrator.say(f"{len(self.ledger.users)} users chatting; no rollout yet")
        await self.hold(self.plan.baseline_s)

    async def ramp(self, stages: list[int]) -> None:
        self.started_at = self.clock()
        for index, _percent in enumerate(ramp_stages(stages)):
            status = await self.admin.act("start" if index == 0 else "advance")
            await self.enter_stage(status, "")
            await self.hold(self.plan.stage_hold_s, expect=Status.PROGRESSING)

    async def enter_stage(self, status: dict[str, Any], note: str) -> None:
        """Wait until the gateway routes with this state, then tally a new stage from there."""
        applied_at = await self.admin.wait_applied(status["version"], APPLY_TIMEOUT_S)
        percent = status["percent"]
        self.ledger.begin_stage(stage_label(percent, note), percent, status.get("salt"))
        self.narrator.status(status)
        verb = "rolled back" if status["state"] == Status.ROLLED_BACK else "now"
        self.narrator.say(f"gateway routes {percent}% of buckets to the canary ({verb})")
        self.legacy_since = applied_at if status["state"] == Status.ROLLED_BACK else None

    async def inject_fault(self) -> None:
        rate = self.plan.fault_error_rate
        await self.admin.set_faults(error_rate=rate, seed=7)
        self.fault_at = self.clock()
        percent = self.ledger.current.percent if self.ledger.current else 0
        self.ledger.begin_stage(stage_label(percent, "+ fault"), percent)
        self.narrator.say(
            f"FAULT: canary now fails {rate:.0%} of its requests (POST /admin/faults)"
        )

    async def await_rollback(self) -> None:
        deadline = time.monotonic() + self.plan.rollback_timeout_s
        status = await self.admin.status()
        while status["state"] == Status.PROGRESSING and time.monotonic() < deadline:
            await asyncio.sleep(self.plan.poll_s)
            status = await self.admin.status()
            self.narrator.status(status)
        if status["state"] == Status.PROGRESSING:
            self.narrator.say("no automatic rollback in time; the demo rolls back itself")
            status = await self.admin.act("rollback", reason="ion-demo: no automatic rollback")
        await self._record_rollback(status)

    async def _record_rollback(self, status: dict[str, Any]) -> None:
        history = await self.admin.history()
        self.rollback = dict(find_rollback(history, self.started_at or 0.0) or {}) or None
        if self.rollback:
            self.narrator.rolled_back(self.rollback["at"])
            who = self.rollback["actor"]
            self.narrator.say(f"ROLLBACK by {who}: {self.rollback.get('reason')}")
        else:
            self.narrator.say(f"rollout left progressing without a rollback: {status['state']}")
        self.narrator.act_done()
        await self.enter_stage(status, "after rollback")

    async def verify(self) -> None:
        await self.hold(self.plan.verify_s)

    async def hold(self, seconds: float, expect: str | None = None) -> None:
        """Let traffic run; refresh the status; stop if the rollout moved on its own."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(self.plan.poll_s, left))
            status = await self.admin.status()
            self.narrator.status(status)
            if expect and status["state"] != expect:
                raise DemoError(
                    f"the rollout left {expect}: {status['state']} ({status['reason']})"
                )
        self.narrator.act_done()

    async def cleanup(self) -> None:
        """Heal the canary; roll back a rollout this demo started and left running."""
        try:
            await asyncio.wait_for(self.admin.set_faults(), CLEANUP_TIMEOUT_S)
            if self.started_at is None:
                return
            status = await asyncio.wait_for(self.admin.status(), CLEANUP_TIMEOUT_S)
            if status["state"] in (Status.PROGRESSING, Status.PAUSED):
                reason = "ion-demo stopped before the end"
                await asyncio.wait_for(self.admin.act("rollback", reason=reason), CLEANUP_TIMEOUT_S)
                self.narrator.say("rolled back the demo's unfinished rollout")
        except (DemoError, TimeoutError) as exc:
            self.narrator.say(f"cleanup incomplete: {exc}")
