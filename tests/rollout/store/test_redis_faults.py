"""The Redis store against a real `redis-server` this test owns: killed, frozen (SIGSTOP: the
socket accepts, nothing answers) and restarted on the same port. Every call fails with
`StoreError` within its timeout, never hangs; the change feed raises; after a restart calls work
again and a fresh iteration of the feed delivers changes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.aggregate import TargetSecond
from rollout.machine import RolloutState, Status
from rollout.store import StoreError, open_store
from rollout.store.redis import RedisStore
from rollout.store.redis_feed import PROBE_AFTER_SECONDS
from tests.support.redis_server import RedisServer, until_subscribed
from tests.support.servers import wait_until

TIMEOUT = 0.5  # connect and command timeout of the store under test
GRACE = 3.0  # what "within the timeout" allows for a loaded machine; a hang is 120 s (pytest)

CALLS: dict[str, Callable[[RedisStore], Any]] = {
    "read": lambda s: s.read(),
    "compare_and_set": lambda s: s.compare_and_set(0, RolloutState(), [], 1.0),
    "history": lambda s: s.history(),
    "record_verdict": lambda s: s.record_verdict({"v": 1}),
    "last_verdict": lambda s: s.last_verdict(),
    "append_aggregates": lambda s: s.append_aggregates([TargetSecond(5, "canary", 1)]),
    "settled_series": lambda s: s.settled_series(0, 10),
    "late_series": lambda s: s.late_series(0, 10),
    "seconds": lambda s: s.seconds("canary", 0, 10),
    "prune": lambda s: s.prune(10),
    "acquire_lease": lambda s: s.acquire_lease("a", 10, 0),
    "release_lease": lambda s: s.release_lease("a"),
}


@pytest.fixture
def server() -> Iterator[RedisServer]:
    owned = RedisServer().start()
    yield owned
    with contextlib.suppress(ProcessLookupError, AssertionError):
        owned.signal(signal.SIGCONT)
    owned.kill()


@pytest.fixture
def store(server) -> Iterator[RedisStore]:
    opened = open_store(
        server.url, connect_timeout_seconds=TIMEOUT, command_timeout_seconds=TIMEOUT
    )
    assert isinstance(opened, RedisStore)
    yield opened
    opened.close()


def outcome_within(call: Callable[[], Any], seconds: float) -> BaseException | str:
    """Run `call` in a thread; what it raised, "returned", or "hung" past `seconds`."""
    result: list[BaseException | str] = []

    def run() -> None:
        try:
            call()
            result.append("returned")
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else "hung"


@pytest.mark.parametrize("freeze", [False, True], ids=["killed", "frozen"])
def test_every_call_fails_with_store_error_in_time_then_recovers(server, store, freeze):
    store.compare_and_set(0, RolloutState(Status.PROGRESSING, 5, 0), [], 1.0)
    if freeze:
        server.signal(signal.SIGSTOP)
    else:
        server.kill()
    for name, call in CALLS.items():
        got = outcome_within(lambda c=call: c(store), TIMEOUT + GRACE)
        assert isinstance(got, StoreError), f"{name}: {got!r}"
        assert ("timeout" if freeze else "unreachable") in str(got), f"{name}: {got}"
    if freeze:
        server.signal(signal.SIGCONT)
    else:
        server.start()
    wait_until(lambda: outcome_within(store.read, TIMEOUT + GRACE) != "hung" and store.read(), 10)
    expected = 1 if freeze else 0  # the killed server had no persistence: it came back empty
    assert store.read().version == expected
    for name, call in CALLS.items():
        got = outcome_within(lambda c=call: c(store), TIMEOUT + GRACE)
        assert got == "returned" or type(got).__name__ == "Conflict", f"{name}: {got!r}"


def test_the_change_feed_raises_on_a_kill_and_resumes_when_iterated_again(server, store):
    feed = store.change_feed()

    async def first_version(writer_version: int) -> int:
        """Iterate until a version arrives, writing until the subscription is live."""
        iterator = feed.changes()
        task = asyncio.ensure_future(iterator.__anext__())
        version = writer_version
        for _ in range(200):
            done, _ = await asyncio.wait({task}, timeout=0.05)
            if done:
                break
            stored = await asyncio.to_thread(
                store.compare_and_set, version, RolloutState(Status.PROGRESSING, 5, 0), [], 1.0
            )
            version = stored.version
        got = await asyncio.wait_for(task, 5)
        await iterator.aclose()
        return got

    async def scenario() -> None:
        assert await first_version(0) >= 1
        iterator = feed.changes()
        task = asyncio.ensure_future(iterator.__anext__())
        await until_subscribed(feed)  # nothing is published meanwhile
        await asyncio.to_thread(server.kill)
        with pytest.raises(StoreError, match="unreachable"):
            await asyncio.wait_for(task, TIMEOUT + GRACE)
        with pytest.raises(StoreError):  # still down: iterating again fails in time too
            await asyncio.wait_for(feed.changes().__anext__(), TIMEOUT + GRACE)
        await asyncio.to_thread(server.start)
        assert await first_version(0) >= 1  # the restarted (empty) Redis: the feed resumes
        await feed.aclose()

    asyncio.run(scenario())


def test_the_change_feed_of_a_frozen_redis_raises_instead_of_waiting_forever(server, store):
    feed = store.change_feed()

    async def scenario() -> None:
        iterator = feed.changes()
        task = asyncio.ensure_future(iterator.__anext__())
        await until_subscribed(feed)  # nothing is published
        server.signal(signal.SIGSTOP)  # the socket stays open; nothing answers, nothing closes
        with pytest.raises(StoreError, match="timeout"):
            await asyncio.wait_for(task, PROBE_AFTER_SECONDS + TIMEOUT + GRACE)
        server.signal(signal.SIGCONT)
        await feed.aclose()

    asyncio.run(scenario())
