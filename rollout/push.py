"""Listening to a store's pushed change notices (`ChangeFeed`), resubscribing when it breaks.

`PushListener.run()` iterates `feed.changes()` and calls `notice(version)` for every notice,
and `notice(None)` when the subscription breaks. The caller coalesces: a notice only asks for a
re-read, so a burst costs one or two reads, not one per message.

When the subscription breaks (`StoreError`), it logs `rollout.push_down` once per episode and
tries again after a backoff of 0.1 s doubling to 2 s; the caller's poller keeps the routing
fresh meanwhile. Whatever was published while nobody listened is lost, so while `down_since` is
set the caller watches `feed.subscribed` and, when it turns true, calls `up()` (which ends the
episode: `rollout.push_up`) and re-reads. A notice ends an episode too. The backoff starts
again from 0.1 s once a subscription has held for `SETTLED_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from common.logging import get_logger
from rollout.store import ChangeFeed, StoreError

BACKOFF_MIN_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 2.0
SETTLED_SECONDS = 1.0


class PushListener:
    def __init__(self, feed: ChangeFeed, notice: Callable[[int | None], None]) -> None:
        self.feed = feed
        self.notice = notice
        self.down_since: float | None = None  # time.monotonic() of the episode's first failure
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
                    self.notice(version)
                return  # the feed was closed: nothing more will come
            except StoreError as exc:
                if time.monotonic() - started >= SETTLED_SECONDS:
                    backoff = BACKOFF_MIN_SECONDS
                self._down(exc)
                self.notice(None)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    def up(self) -> None:
        """The subscription is back (the caller saw `feed.subscribed`, or a notice came)."""
        if self.down_since is not None:
            down = round(time.monotonic() - self.down_since, 3)
            self._log.info("rollout.push_up", down_seconds=down)
            self.down_since = None

    def _down(self, exc: StoreError) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self._log.warning(
                "rollout.push_down", kind=exc.kind, retry_max_seconds=BACKOFF_MAX_SECONDS
            )
