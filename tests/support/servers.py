"""Real servers on 127.0.0.1 ephemeral ports for tests, and waiting on conditions with a deadline.

- `serve_app(app)`: runs an ASGI app under uvicorn in a background thread (its own event loop)
  on a socket bound to 127.0.0.1:0 and yields its base URL; shuts it down on exit.
- `wait_until(predicate, timeout)`: polls until the predicate is truthy, else fails loudly.
- `free_port()`, `wait_http_ok(url)`: for servers started as subprocesses.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import uvicorn

T = TypeVar("T")


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(bound_socket(host)) as sock:
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(app: Any, *, timeout: float = 10.0, **uvicorn_options: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:<ephemeral>; yield "http://127.0.0.1:<port>"."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    options = {"log_level": "warning", "lifespan": "on", "access_log": False}
    options.update(uvicorn_options)
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout, "server start")
        if not server.started:
            raise RuntimeError("uvicorn server failed to start (see log above)")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Poll `predicate` until it returns a truthy value; raise AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def wait_http_ok(url: str, timeout: float = 20.0) -> None:
    """Wait until GET `url` answers 2xx."""

    def ok() -> bool:
        return httpx.get(url, timeout=1.0).is_success

    wait_until(ok, timeout, f"GET {url} to answer 2xx", interval=0.1)
