"""Simulated users sending `/chat` through the gateway at a steady, modest rate.

A fixed pool of workers (bounded concurrency) shares one `Pacer`, so the rate stays steady
whatever the latency. Users wait in a queue: a worker takes the user at the front, sends one
request, and puts the user at the back. So every user is seen in turn, and no user ever has two
requests in flight. That matters for flip detection: a user's answers arrive in the order the
requests were sent, so a canary -> legacy move is a real routing change, not two racing requests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence

import httpx

from loadtest.demo.ledger import NO_SIDE, Outcome

MESSAGES = (
    "안녕하세요",
    "Explain AI concepts in a concise style",
    "이거 진짜 답답해요! 왜 안 되는 거죠?",
    "Recommend something for a rainy evening",
    "What changed in the new version?",
)


class Pacer:
    """Hands out send slots `1/rate` apart (pure: the caller passes the clock)."""

    def __init__(self, rate_per_s: float) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate_per_s
        self.next_at: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before sending; a late caller sends at once (no catch-up burst)."""
        slot = now if self.next_at is None else max(self.next_at, now)
        self.next_at = slot + self.interval
        return slot - now


def chat_body(user: str, index: int) -> dict[str, str]:
    return {"message": MESSAGES[index % len(MESSAGES)], "user_id": user}


class Traffic:
    """Runs the workers until `stop()`; every answer goes to `on_outcome`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        users: Sequence[str],
        on_outcome: Callable[[Outcome], None],
        *,
        rate_per_s: float,
        concurrency: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._queue = deque(users)
        self._on_outcome = on_outcome
        self._pacer = Pacer(rate_per_s)
        self._concurrency = max(1, min(concurrency, len(users)))
        self._clock = clock
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._sent = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]

    async def stop(self) -> None:
        """Let in-flight requests finish (their answers still count), then end the workers."""
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            wait = self._pacer.delay(loop.time())
            if wait > 0:
                try:
                    await asyncio.wait_for(self._stopping.wait(), wait)
                    return
                except TimeoutError:
                    pass
            user = self._queue.popleft()
            try:
                self._on_outcome(await self._send(user))
            finally:
                self._queue.append(user)

    async def _send(self, user: str) -> Outcome:
        self._sent += 1
        sent_at = self._clock()
        try:
            response = await self._client.post("/chat", json=chat_body(user, self._sent))
        except httpx.HTTPError:
            return Outcome(user, NO_SIDE, None, sent_at, self._clock())
        side = response.headers.get("x-canary-target", NO_SIDE)
        return Outcome(user, side, response.status_code, sent_at, self._clock())
