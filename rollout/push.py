"""Listening to a store's pushed change notices (`ChangeFeed`), resubscribing when it breaks.

Two tasks: `run()` iterates `feed.changes()` and wakes `reread_when_told()` for every notice
of a version other than the one routing `held` already (this process's own commits are applied
before they are published); the reader calls `reread()` once per wake-up, so a burst of notices
costs one or two reads, not one per message.

When the subscription breaks (`StoreError`, or anything else the client raises), `run()` logs
`rollout.push_down` once per episode and tries again after a backoff of 0.1 s doubling to 2 s;
the caller's poller keeps the routing fresh meanwhile. Whatever was published while nobody
listened is lost, so while down the reader watches `feed.subscribed` (every
`SUBSCRIBED_CHECK_SECONDS`; never in steady state) and re-reads once it turns true, which ends
the episode (`rollout.push_up`); a notice ends it too. The backoff starts again from 0.1 s once
a subscription has held for `SETTLED_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from common.logging import get_logger
from rollout.store import ChangeFeed
from rollout.store.interface import failure_kind

BACKOFF_MIN_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 2.0
SETTLED_SECONDS = 1.0
SUBSCRIBED_CHECK_SECONDS = 0.05


class PushListener:
    def __init__(
        self,
        feed: ChangeFeed,
        *,
        reread: Callable[[], Awaitable[None]],
        held: Callable[[], int],
    ) -> None:
        self.feed = feed
        self.reread = reread
        self.held = held
        self.down_since: float | None = None  # time.monotonic() of the episode's first failure
        self.failures = 0  # subscriptions that broke or could not be made, since the start
        self._wake = asyncio.Event()
        self._log = get_logger("rollout.push")

    @property
    def state(self) -> str:
        """`/readyz`'s `push`: "subscribed" while the feed holds a live subscription."""
        return "subscribed" if self.feed.subscribed else "down"

    async def run(self) -> None:
        backoff = BACKOFF_MIN_SECONDS
        while True:
            started = time.monotonic()
            try:
                async for version in self.feed.changes():
                    self.up()
                    if version != self.held():
                        self._wake.set()
                return  # the feed was closed: nothing more will come
            except Exception as exc:  # a StoreError, or anything else the client raised:
                # either way the listener must live on, say so and retry, never die silently
                if time.monotonic() - started >= SETTLED_SECONDS:
                    backoff = BACKOFF_MIN_SECONDS
                self.failures += 1
                self._down(exc)
                self._wake.set()  # so the reader starts watching for the subscription's return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    async def reread_when_told(self) -> None:
        while True:
            down = self.down_since is not None
            with contextlib.suppress(TimeoutError):
                timeout = SUBSCRIBED_CHECK_SECONDS if down else None
                await asyncio.wait_for(self._wake.wait(), timeout)
            if down and self.feed.subscribed:
                self.up()
                self._wake.set()
            if self._wake.is_set() and self.down_since is None:
                self._wake.clear()
                await self.reread()
            elif self._wake.is_set():
                self._wake.clear()  # down: the poller reads; watch for the subscription

    def up(self) -> None:
        """The subscription is back (the caller saw `feed.subscribed`, or a notice came)."""
        if self.down_since is not None:
            down = round(time.monotonic() - self.down_since, 3)
            self._log.info("rollout.push_up", down_seconds=down)
            self.down_since = None

    def _down(self, exc: Exception) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self._log.warning(
                "rollout.push_down", kind=failure_kind(exc), retry_max_seconds=BACKOFF_MAX_SECONDS
            )
