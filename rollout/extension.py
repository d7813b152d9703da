"""`GatewayRollout`: the rollout machinery as the gateway sees it (`gateway.extension`).

Background tasks per gateway process, all started by the gateway's lifespan:
- poller: reads the state row every `poll_interval_seconds` (<= 0.5 s, so every process sees a
  change within a second) and swaps the in-memory `RoutingState` the hot path reads;
- push (when the store has a `ChangeFeed`, Redis): re-reads the state as soon as a change is
  announced, so a change reaches every process in milliseconds; the poller is the fallback
  while the subscription is down (`rollout.push`);
- flusher: drains the process's per-second aggregates into a bounded buffer and the buffer
  into the store every `flush_interval_seconds`, oldest first (`rollout.flusher`: nothing is
  lost while the store is away, up to `ROLLOUT_BUFFER_SECONDS`); the pruner drops old rows;
- controller loop (when `run_controller`): competes for the lease; only the holder decides.

Read-your-writes: both services (the controller's and the admin API's) call `_committed` with
the state they just committed, before they log, notify or answer, so this process routes by a
rollback before anyone can see it. Reads and commits are ordered by a ticket taken when each
starts (a commit's when it returns): a read that began before a later-applied observation is
dropped, so a slow poll can never put back the percent a commit just replaced.

Fail-static: if the store becomes unreadable, routing keeps the last known percent. `/readyz`
stays ok (routing still works and taking the process out of rotation would not help), but says
`store: "unreadable"` with the error's `kind` (never its message) and `stale_seconds`;
`rollout.store_unreadable` is logged once per episode.
A state read that takes longer than `store_slow_read_seconds` (the one in flight counts too), or
gives up because the store is busy, shows as `store: "slow"` with `read_seconds`; typically
another process holds the write lock and this process's flush is waiting behind it.

Two store objects (two connections) when the extension opens the store itself: the background
loops share one that waits `store_wait_seconds` for a lock; operators' verbs use their own that
waits `admin_store_wait_seconds`, so a verb never queues behind a blocked flush and answers 503
`store_busy` quickly instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from common.logging import get_logger
from gateway.aggregate import Aggregator
from gateway.state import RoutingState
from rollout.access import Access
from rollout.admin_api import AdminAPI
from rollout.controller import Controller, default_holder
from rollout.dashboard.routes import Dashboard
from rollout.flusher import Flusher
from rollout.machine import Status
from rollout.metrics import RolloutMetrics
from rollout.notify import Notifier, build_notifier
from rollout.push import PushListener
from rollout.service import RolloutService
from rollout.settings import RolloutSettings
from rollout.store import RolloutStore, StoreBusy, StoredState, open_store
from rollout.store.interface import failure_kind
from rollout.wiring import build_controller, build_service

PRUNE_EVERY_SECONDS = 60.0


class GatewayRollout:
    def __init__(
        self,
        settings: RolloutSettings,
        *,
        admin_token: str | None,
        registry: CollectorRegistry | None,
        viewer_token: str | None = None,
        session_key: str | None = None,
        session_ttl_seconds: float = 8 * 3600,
        store: RolloutStore | None = None,
        clock: Callable[[], float] = time.time,
        notifier: Notifier | None = None,
        run_controller: bool = True,
        process_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = RolloutMetrics(registry)
        self.run_controller = run_controller
        self.process_id = process_id or default_holder()
        self._store = store
        self._owns_store = store is None
        self._owns_notifier = notifier is None
        self._notifier = notifier
        self._service: RolloutService | None = None
        self._admin_store: RolloutStore | None = store
        self._admin_service: RolloutService | None = None
        self._controller: Controller | None = None
        self._state = RoutingState(0)
        self._status = Status.IDLE
        self._last_read: float | None = None
        self._rollout_started_at: float | None = None
        self._unreadable_since: float | None = None
        self._unreadable_kind: str | None = None
        self._ticket = 0  # taken by every read when it starts and every commit when it returns
        self._applied_ticket = 0  # of the observation the routing state came from
        self._push: PushListener | None = None
        self._flusher = Flusher(settings.buffer_seconds, self.metrics)
        self._read_started: float | None = None  # time.monotonic() of the read in flight
        self._read_seconds = 0.0  # how long the last state read took
        self._read_busy = False  # the last state read gave up: the store was busy
        self._tasks: list[asyncio.Task[Any]] = []
        self._aggregator: Aggregator | None = None
        self._log = get_logger("rollout.extension")
        access = None
        if admin_token:
            access = Access(
                admin_token,
                viewer_token,
                session_key=session_key,
                session_ttl_seconds=session_ttl_seconds,
            )
        self.admin = AdminAPI(
            lambda: self._admin_service, access, clock=clock, extra_status=self._controller_view
        )
        self.routes: list[BaseRoute] = list(self.admin.routes)
        if access is not None:  # the dashboard exists only where the admin API does
            dashboard = Dashboard(self.admin, access, clock=clock)
            self.routes = [*dashboard.routes, *self.admin.routes]

    # gateway.extension.RolloutExtension -----------------------------------------------------

    def current(self) -> RoutingState:
        return self._state

    def readiness(self) -> dict[str, Any]:
        now = self.clock()
        stale = round(now - self._last_read, 3) if self._last_read is not None else None
        read_seconds = self._current_read_seconds()
        error = {"error": self._unreadable_kind} if self._unreadable_since is not None else {}
        return {
            "ok": self._service is not None,
            "store": self._store_health(read_seconds),
            **error,
            "push": self._push.state if self._push is not None else "none",
            "buffered_rows": self._flusher.pending_rows,
            "stale_seconds": stale,
            "read_seconds": round(read_seconds, 3),
            "state": self._status,
            "percent": self._state.percent,
            "version": self._state.version,
            "controller": self._controller_role(),
        }

    async def start(self, aggregator: Aggregator) -> None:
        if self._store is None:
            url, s = self.settings.store_url, self.settings
            self._store = await asyncio.to_thread(
                open_store, url, **s.store_options(s.store_wait_seconds)
            )
            self._admin_store = await asyncio.to_thread(
                open_store, url, **s.store_options(s.admin_store_wait_seconds)
            )
        self._notifier = self._notifier or build_notifier(self.settings)
        self._service = self._build_service(self._store)
        self._admin_service = self._build_service(self._admin_store or self._store)
        self._aggregator = aggregator
        await self.poll_once()
        self._start_push(self._store)
        self._spawn(self._every(self.settings.poll_interval_seconds, self.poll_once), "poller")
        self._spawn(self._every(self.settings.flush_interval_seconds, self.flush_once), "flusher")
        self._spawn(self._every(PRUNE_EVERY_SECONDS, self.prune_once), "pruner")
        if self.run_controller:
            self._controller = build_controller(
                self.settings, self._service, clock=self.clock, holder=self.process_id
            )
            self._spawn(self._controller.run(), "controller")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._push is not None:
            with contextlib.suppress(Exception):
                await self._push.feed.aclose()
            self._push = None
        with contextlib.suppress(Exception):
            await self.flush_once()
        if lost := self._flusher.pending_rows:  # the store is still away: gone with the process
            self._log.error("rollout.aggregates_lost_at_stop", rows=lost)
        if self._controller is not None:
            with contextlib.suppress(Exception):
                await self._controller.release()
        if self._owns_notifier and self._notifier is not None:
            await self._notifier.aclose()
            self._notifier = None
        if self._owns_store and self._store is not None:
            self._store.close()
        if self._owns_store and self._admin_store is not None:
            self._admin_store.close()
        self._service = self._admin_service = None

    # background work ------------------------------------------------------------------------

    async def poll_once(self, via: str = "poll") -> None:
        """Read the state and route by it; `via` (poll, push) shows in `rollout.routing_changed`."""
        ticket = self._take_ticket()
        self._read_started = started = time.monotonic()
        try:
            stored = await asyncio.to_thread(self._opened().read)
        except StoreBusy as exc:
            if not self._read_busy:
                self._log.warning("rollout.store_busy", error=str(exc))
            self._read_busy = True  # keep the last percent; slow, not unreadable
            return
        except Exception as exc:
            if ticket > self._applied_ticket:  # nothing newer has been read since it began
                self._mark_unreadable(exc)
            return
        finally:
            self._read_started = None
            self._read_seconds = time.monotonic() - started
        self._read_busy = False
        self._apply(stored, ticket, via)

    async def flush_once(self) -> None:
        """Aggregator -> bounded buffer -> store, oldest first (`rollout.flusher`)."""
        if self._aggregator is not None:
            await self._flusher.flush(self._aggregator, self._opened(), self.clock())

    async def prune_once(self) -> int:
        """Drop rows older than the retention, never those of the current or last rollout:
        a new leader rebuilds the judge from them and `ion-rollout export` writes them."""
        before = int(self.clock()) - self.settings.retention_seconds
        if self._rollout_started_at is not None:
            before = min(before, int(self._rollout_started_at))
        return await asyncio.to_thread(self._opened().prune, before)

    def _committed(self, stored: StoredState) -> None:
        """Read-your-writes: this process's own commit (or the winner a commit lost to),
        applied to routing at once, on the event loop, before the caller goes on."""
        self._apply(stored, self._take_ticket(), "commit")

    def _take_ticket(self) -> int:
        self._ticket += 1
        return self._ticket

    def _apply(self, stored: StoredState, ticket: int, via: str) -> None:
        if ticket < self._applied_ticket:
            return  # this read began before the observation routing already holds
        self._applied_ticket = ticket
        now = self.clock()
        if self._unreadable_since is not None:
            down = now - self._unreadable_since
            self._log.info("rollout.store_readable", unreadable_seconds=down)
            self._unreadable_since = self._unreadable_kind = None
        self._last_read = now
        state = stored.state
        if stored.version != self._state.version:
            self._state = RoutingState(state.percent, state.salt, stored.version)
            self._log.info(
                "rollout.routing_changed", percent=state.percent, state=state.status, via=via
            )
        self._status = state.status
        self._rollout_started_at = state.started_at
        self.metrics.observe_state(state, now)

    def _mark_unreadable(self, exc: Exception) -> None:
        self._unreadable_kind = failure_kind(exc)
        if self._unreadable_since is None:
            self._unreadable_since = self.clock()
            self._log.error(
                "rollout.store_unreadable",
                kind=self._unreadable_kind,
                keeping_percent=self._state.percent,
            )

    def _start_push(self, store: RolloutStore) -> None:
        feed = store.change_feed()
        if feed is None:
            return  # SQLite: the poller alone
        self._push = PushListener(
            feed, reread=lambda: self.poll_once(via="push"), held=lambda: self._state.version
        )
        self._spawn(self._push.run(), "push")
        self._spawn(self._push.reread_when_told(), "push_reader")

    async def _every(self, interval: float, job: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except Exception as exc:
                self._log.warning("rollout.background_failed", job=job.__name__, error=repr(exc))

    def _opened(self) -> RolloutStore:
        if self._store is None:
            raise RuntimeError("rollout store used before start()")
        return self._store

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(coro, name=f"rollout.{name}"))

    def _build_service(self, store: RolloutStore) -> RolloutService:
        assert self._notifier is not None
        return build_service(
            self.settings,
            store,
            clock=self.clock,
            notifier=self._notifier,
            metrics=self.metrics,
            on_commit=self._committed,
        )

    def _current_read_seconds(self) -> float:
        started = self._read_started
        in_flight = time.monotonic() - started if started is not None else 0.0
        return max(self._read_seconds, in_flight)

    def _store_health(self, read_seconds: float) -> str:
        if self._unreadable_since is not None:
            return "unreadable"
        slow = self._read_busy or read_seconds > self.settings.store_slow_read_seconds
        return "slow" if slow else "ok"

    def _controller_view(self) -> dict[str, Any]:
        """For the status document: which process answered and its part in the election."""
        return {"controller": {"process": self.process_id, "role": self._controller_role()}}

    def _controller_role(self) -> str:
        if self._controller is None:
            return "off"
        return "leader" if self._controller.leader else "standby"
