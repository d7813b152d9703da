"""rollout/push.py against a real `redis-server` this test owns: a notice is a re-read, a kill
is one `rollout.push_down` however many retries it takes, and when the listener has subscribed
again by itself it re-reads once (what was published meanwhile is lost)."""

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
    reads: list[int] = []
    held = {"version": 0}  # what routing holds: a notice of it is no reason to re-read

    async def reread() -> None:
        reads.append(len(reads))

    listener = PushListener(store.change_feed(), reread=reread, held=lambda: held["version"])
    loop = asyncio.get_running_loop()
    with captured_logs() as logs:
        tasks = [loop.create_task(listener.run()), loop.create_task(listener.reread_when_told())]
        try:
            await eventually(lambda: listener.state == "subscribed", what="subscribed")
            first = await asyncio.to_thread(store.compare_and_set, 0, started(), [], 1.0)
            await eventually(lambda: len(reads) == 1, what="a re-read for the notice")
            held["version"] = first.version

            server.kill()
            await eventually(lambda: listener.failures >= 3, what="three failed subscriptions")
            assert listener.state == "down" and len(reads) == 1  # the poller's job meanwhile

            server.start()  # (it kept nothing: the next commit is version 1 again)
            await eventually(lambda: listener.down_since is None, what="subscribed again")
            await eventually(lambda: len(reads) == 2, what="the catch-up re-read")
            assert listener.state == "subscribed"
            held["version"] = 0
            await asyncio.to_thread(store.compare_and_set, 0, started(), [], 2.0)
            await eventually(lambda: len(reads) == 3, what="a re-read for the next notice")
        finally:
            for task in tasks:  # as the extension stops it: the tasks first, then the feed
                task.cancel()
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
