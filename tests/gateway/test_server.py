"""gateway/server.py over real sockets: each bound on a request head, the header timeout and the
connection bound, against a real gateway (as `python -m gateway` serves it) and a real upstream."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from gateway.server import ConnectionLimits
from gateway.settings import GatewaySettings
from tests.gateway.conftest import running_gateway
from tests.support.logs import captured_logs
from tests.support.rawhttp import RawResponse, connect, exchange, parse, read_all
from tests.support.servers import wait_until

LINE, HEAD, COUNT = 1024, 4096, 20


@pytest.fixture(scope="module")
def bounded(upstreams):
    """Small limits so a test crosses them in a few KiB; a header timeout no test reaches."""
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1],
        max_header_line_bytes=LINE, max_head_bytes=HEAD, max_headers=COUNT,
    ) as (url, app):  # fmt: skip
        yield url, app


@pytest.fixture
def impatient(upstreams):
    """A gateway that waits one second for a request head."""
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1],
        header_timeout_seconds=1.0,
    ) as (url, app):  # fmt: skip
        yield url, app


def head(*headers: str, target: str = "/x") -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: gw", *headers, "", ""]
    return "\r\n".join(lines).encode()


def assert_refused(response: RawResponse, status: int, code: str) -> None:
    assert response.status == status, response
    body = response.json()
    assert body["code"] == code and body["error"] and len(body["request_id"]) == 32
    assert response.headers["connection"] == "close"
    assert response.headers["x-request-id"] == body["request_id"]


def test_defaults_are_nginx_like():
    limits = ConnectionLimits.from_settings(GatewaySettings())
    assert limits == ConnectionLimits(8 * 1024, 32 * 1024, 100, 10.0, 1000)


def test_heads_within_the_bounds_are_served(bounded, upstreams):
    url, _ = bounded
    legacy = upstreams["legacy"][0]
    before = legacy.hits
    headers = [f"X-H{i}: {'v' * 100}" for i in range(COUNT - 3)]  # + Host, Connection, X-Long
    headers.append("X-Long: " + "l" * (LINE - len("x-long") - 8))
    with connect(url) as sock:
        sock.sendall(head(*headers, "Connection: close"))
        response = parse(read_all(sock))
    assert response.status == 200 and response.json()["name"] == "legacy"
    assert legacy.hits == before + 1


@pytest.mark.parametrize(
    ("why", "payload", "status", "code"),
    [
        ("one header line over the line limit", head("X-Big: " + "b" * LINE), 431,
         "header_too_large"),
        ("one header too many", head(*(f"X-H{i}: v" for i in range(COUNT))), 431,
         "too_many_headers"),
        ("many small headers, each within the line limit, over the head limit",
         head(*(f"X-H{i}: {'v' * 1000}" for i in range(5))), 431, "head_too_large"),
        ("request line over the line limit", head(target="/" + "u" * LINE), 414,
         "uri_too_long"),
    ],
)  # fmt: skip
def test_oversized_heads_are_refused_and_never_reach_the_app(
    bounded, upstreams, why, payload, status, code
):
    url, app = bounded
    legacy, canary = upstreams["legacy"][0], upstreams["canary"][0]
    before = legacy.hits + canary.hits
    app.runtime.aggregator.drain()
    with captured_logs() as logs:
        assert_refused(exchange(url, payload), status, code)
    [refused] = [e for e in logs if e["event"] == "gateway.request_refused"]
    assert (refused["status"], refused["code"], refused["client"]) == (status, code, "127.0.0.1")
    assert legacy.hits + canary.hits == before, why
    assert app.runtime.aggregator.drain() == [], why
    assert httpx.get(url + "/healthz").status_code == 200


def test_a_pipelined_head_read_with_the_request_before_it_is_checked_in_full(bounded, upstreams):
    """The second head arrives in the same read as the first request, so the gateway's running
    byte count never saw it; it is still refused. (Like uvicorn's own 400, the refusal closes
    the connection at once, so the first answer may be cut too.)"""
    url, _ = bounded
    legacy = upstreams["legacy"][0]
    second = head("X-User-Id: alice", "X-Big: " + "b" * LINE, target="/second")
    with connect(url) as sock:
        sock.sendall(head("X-User-Id: alice", target="/first") + second)
        read_all(sock)  # the gateway closes the connection
    assert httpx.get(url + "/healthz").status_code == 200
    assert [path for _, path, _ in legacy.received if path == "/second"] == []


def test_an_endless_header_is_cut_at_the_head_limit(bounded):
    """The attack from issue 9: one header that never ends. Stock uvicorn buffers all of it."""
    url, _ = bounded
    sent = 0
    with connect(url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: gw\r\nX-Endless: ")
        sock.settimeout(0.05)
        answer = b""
        while not answer and sent < 100 * HEAD:
            try:
                sock.sendall(b"a" * 512)
                sent += 512
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        sock.settimeout(5.0)
        answer += read_all(sock)
    assert_refused(parse(answer), 431, "head_too_large")
    assert sent <= 2 * HEAD  # cut as soon as the limit is crossed, not later


def test_a_refused_client_that_sent_everything_at_once_still_reads_the_answer(bounded):
    """Lingering close: the client's unread bytes must not turn the 431 into a reset."""
    url, _ = bounded
    payload = head("X-Big: " + "b" * (4 * 1024 * 1024))  # far more than one read
    for _ in range(5):
        assert_refused(exchange(url, payload), 431, "head_too_large")


def test_a_head_that_does_not_arrive_in_time_is_answered_408(impatient):
    url, _ = impatient
    started = time.monotonic()
    with connect(url) as sock, captured_logs() as logs:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: gw\r\n")  # ... and nothing more
        response = parse(read_all(sock))
    assert_refused(response, 408, "header_timeout")
    assert 0.9 <= time.monotonic() - started < 5.0
    assert [e["code"] for e in logs if e["event"] == "gateway.request_refused"] == [
        "header_timeout"
    ]


def test_a_connection_that_never_speaks_is_closed_without_an_answer(impatient):
    url, _ = impatient
    with connect(url) as sock:
        assert read_all(sock) == b""  # closed by the gateway within the timeout


def test_the_head_clock_restarts_for_each_request_on_a_kept_alive_connection(impatient):
    url, _ = impatient
    with connect(url) as sock:
        for _ in range(3):  # each head comes whole: served, however long the connection lives
            sock.sendall(head("X-User-Id: alice"))
            assert parse(_one_response(sock)).status == 200
            time.sleep(0.4)  # 1.2 s in all, past the 1 s timeout measured from accept
        sock.sendall(b"GET /x HTTP/1.1\r\n")  # then a head that stalls
        assert_refused(parse(read_all(sock)), 408, "header_timeout")


def test_connections_past_the_bound_are_refused_at_accept(upstreams):
    legacy = upstreams["legacy"][0]
    legacy.release.clear()  # its /sse holds each stream open until released
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1], max_connections=3,
    ) as (url, _):  # fmt: skip
        held = [_streaming(url) for _ in range(3)]
        try:
            # the fourth is refused before it sends anything, and can read why
            assert_refused(exchange(url, head()), 503, "too_many_connections")
            held.pop().close()
            wait_until(lambda: httpx.get(url + "/healthz").status_code == 200, 5.0, "a free slot")
        finally:
            legacy.release.set()
            for sock in held:
                sock.close()


def _streaming(url: str) -> socket.socket:
    """A connection the gateway has accepted and is busy on: an open server-sent stream."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5.0)
    sock.sendall(head("X-User-Id: alice", target="/sse"))
    data = b""
    while b"event: first" not in data:
        data += sock.recv(65536)
    return sock


def _one_response(sock: socket.socket) -> bytes:
    """Read one Content-Length response from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    response = parse(data)
    want = data.index(b"\r\n\r\n") + 4 + int(response.headers["content-length"])
    while len(data) < want:
        data += sock.recv(65536)
    return data
