"""Slack-compatible webhook notifications (rollback, warn, advance, complete, ...).

`notify()` only enqueues: a background task posts `{"text", "blocks"}` with a timeout and a few
retries (5xx and transport errors; a 4xx will not get better by asking again). The caller (an
operator request, the controller's tick) never waits on Slack and never sees its errors; a
notification that cannot be delivered is logged as `rollout.notify_failed` and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import httpx

from common.logging import get_logger
from rollout.settings import RolloutSettings

EMOJI = {"rollback": ":rotating_light:", "warn": ":warning:", "complete": ":tada:"}


class Notifier(Protocol):
    def notify(self, kind: str, payload: dict[str, Any]) -> None: ...

    async def aclose(self) -> None: ...


class NullNotifier:
    """No webhook configured."""

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        return None

    async def aclose(self) -> None:
        return None


def render(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Slack message: one text line for clients that ignore blocks, plus fields."""
    head = f"{EMOJI.get(kind, ':information_source:')} ion-canary rollout: {kind}"
    text = f"{head} - {payload.get('state')} at {payload.get('percent')}%"
    if payload.get("reason"):
        text += f" ({payload['reason']})"
    fields = [
        {"type": "mrkdwn", "text": f"*{key}*\n{value}"}
        for key, value in payload.items()
        if value is not None and not isinstance(value, dict | list)
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    message: dict[str, Any] = {"text": text, "blocks": blocks}
    if isinstance(payload.get("verdict"), dict):
        message["verdict"] = payload["verdict"]  # the judge's numbers, for machines
    return message


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        client: httpx.AsyncClient | None = None,
        queue_size: int = 100,
    ) -> None:
        self.url = url
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(queue_size)
        self._worker: asyncio.Task[None] | None = None
        self._log = get_logger("rollout.notify")

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        """Enqueue; must be called on the event loop that will deliver it."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run())
        try:
            self._queue.put_nowait(render(kind, payload))
        except asyncio.QueueFull:
            self._log.warning("rollout.notify_dropped", kind=kind, reason="queue full")

    async def drain(self) -> None:
        """Wait until everything queued so far was delivered or given up on (tests, shutdown)."""
        await self._queue.join()

    async def aclose(self) -> None:
        if self._worker is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.drain(), timeout=2.0)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self.send(message)
            finally:
                self._queue.task_done()

    async def send(self, message: dict[str, Any]) -> bool:
        """Post with retries; True when delivered. Never raises."""
        problem = "not attempted"
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * attempt)
            try:
                response = await self._client.post(self.url, json=message)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:
                break
        self._log.warning("rollout.notify_failed", problem=problem, attempts=attempt + 1)
        return False


def build_notifier(settings: RolloutSettings) -> Notifier:
    if not settings.webhook_url:
        return NullNotifier()
    return WebhookNotifier(
        settings.webhook_url,
        timeout_seconds=settings.webhook_timeout_seconds,
        retries=settings.webhook_retries,
    )
