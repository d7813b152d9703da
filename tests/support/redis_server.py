"""A real Redis for tests, never a fake: which one, and a `redis-server` a test owns.

`redis_url()`: `ION_TEST_REDIS_URL` if set; else 127.0.0.1:6379 if it answers PING; else a
`redis-server` started here on a free port (no persistence) and stopped at exit. The binary
missing is a loud failure with the fix, never a skip: the contract must run against Redis.

`RedisServer`: one `redis-server` subprocess on an ephemeral port that a fault test kills and
restarts on the same port.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import time
import uuid
from typing import Any

import redis

from rollout.store.schemes import parse_store_url
from tests.support.servers import free_port, wait_until

MISSING = (
    "redis-server not found: the store tests need a real Redis. Install Debian's package "
    "(apt-get install redis-server), or point ION_TEST_REDIS_URL at one."
)
_shared: list[str] = []


def answers(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


class RedisServer:
    """`redis-server --port N --save '' --appendonly no`, started and killed by a test."""

    def __init__(self, port: int | None = None, *extra: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(MISSING)
        self.binary = binary
        self.port = port or free_port()
        self.extra = list(extra)  # e.g. "--requirepass", "..."
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", *self.extra]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.listening, timeout, f"redis-server on port {self.port}")
        return self

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def redis_url() -> str:
    """The Redis every store test uses (see the module docstring); decided once per run."""
    if _shared:
        return _shared[0]
    url = os.environ.get("ION_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    if not answers(url):
        if os.environ.get("ION_TEST_REDIS_URL"):
            shown = parse_store_url(url)  # never the password
            raise RuntimeError(f"ION_TEST_REDIS_URL does not answer PING: {shown}")
        server = RedisServer().start()
        atexit.register(server.kill)
        url = server.url
    _shared.append(url)
    return url


def unique_prefix() -> str:
    return f"ion-test:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_dead(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while answers(url, 0.2):
        if time.monotonic() > deadline:
            raise AssertionError(f"redis at {url} still answers")
        time.sleep(0.05)


async def until_subscribed(feed: Any, timeout: float = 5.0) -> None:
    """Wait, with a deadline, until a change feed's iteration holds a live subscription: a fault
    (or a close) before that would test the connect path, not a subscription."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not feed.subscribed:
        if loop.time() > deadline:
            raise AssertionError("the change feed never subscribed")
        await asyncio.sleep(0.01)
