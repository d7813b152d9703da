"""rollout/push.py against a real `redis-server` this test owns: notices arrive, a kill is one
`rollout.push_down` however many retries it takes, and the listener resubscribes by itself."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from rollout.machine import RolloutState, Status
from rollout.push import PushListener
from rollout.store import open_store
from tests.rollout.helpers import eventually
from tests.support.logs import captured_logs
from tests.support.redis_server import RedisServer


@pytest.mark.anyio
async def test_a_killed_subscription_is_one_episode_and_comes_back_by_itself():
    server = RedisServer().start()
    store = open_store(server.url, connect_timeout_seconds=0.3, command_timeout_seconds=0.3)
    notices: list[int | None] = []
    listener = PushListener(store.change_feed(), notices.append)
    with captured_logs() as logs:
        task = asyncio.get_running_loop().create_task(listener.run())
        try:
            await eventually(lambda: listener.state == "subscribed", what="subscribed")
            first = await asyncio.to_thread(store.compare_and_set, 0, started(), [], 1.0)
            await eventually(lambda: first.version in notices, what="the first notice")

            server.kill()
            await eventually(lambda: notices.count(None) >= 3, what="three failed retries")
            assert listener.state == "down" and listener.down_since is not None

            server.start()
            await eventually(lambda: listener.state == "subscribed", what="resubscribed")
            before = len(notices)  # (the restarted Redis kept nothing: version 1 again)
            await asyncio.to_thread(store.compare_and_set, 0, started(), [], 2.0)
            await eventually(lambda: 1 in notices[before:], what="a notice after it")
            assert listener.down_since is None  # a notice ends the episode
        finally:
            task.cancel()  # as the extension stops it: the task first, then the feed
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await listener.feed.aclose()
            store.close()
            server.kill()
    events = [e["event"] for e in logs if e["event"].startswith("rollout.push_")]
    assert events == ["rollout.push_down", "rollout.push_up"]
    assert next(e for e in logs if e["event"] == "rollout.push_down")["kind"] == "unreachable"


def started() -> RolloutState:
    return RolloutState(status=Status.PROGRESSING, percent=5, stage_index=0)
