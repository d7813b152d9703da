"""The proxy path against real upstream servers on loopback."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.gateway.conftest import access_lines, running_gateway
from tests.gateway.upstreams import Upstream
from tests.support.logs import captured_logs
from tests.support.rawhttp import connect, parse, read_all
from tests.support.servers import free_port, serve_app, wait_until

CANARY_USER = "user_19"  # bucket 0
LEGACY_USER = "alice"  # bucket 70


def hdr(echo, name):
    return [v for k, v in echo["headers"] if k == name]


def test_routes_by_header_query_and_body(gateway):
    url, _ = gateway
    cases = [
        ({"headers": {"X-User-Id": CANARY_USER}}, "canary"),
        ({"params": {"user_id": CANARY_USER}}, "canary"),
        ({"json": {"user_id": CANARY_USER, "message": "hi"}}, "canary"),
        ({"headers": {"X-User-Id": LEGACY_USER}, "json": {"user_id": CANARY_USER}}, "legacy"),
        ({"json": {"message": "no id"}}, "legacy"),
    ]
    for kwargs, side in cases:
        r = httpx.post(url + "/chat", **kwargs)
        assert r.status_code == 200, kwargs
        assert r.headers["x-canary-target"] == side, kwargs
        assert r.json()["name"] == side, kwargs


def test_method_path_query_body_and_headers_pass_through(gateway):
    url, _ = gateway
    body = json.dumps({"user_id": LEGACY_USER, "text": "한국어"}).encode()
    r = httpx.request(
        "PATCH",
        url + "/v1/items/a%2Fb?x=1%202&y=%ED%95%9C",
        content=body,
        headers={"content-type": "application/json", "x-custom": "yes", "connection": "x-drop",
                 "x-drop": "1", "x-forwarded-for": "203.0.113.9", "x-request-id": "client-rid"},
    )  # fmt: skip
    echo = r.json()
    assert (echo["method"], echo["raw_path"]) == ("PATCH", "/v1/items/a%2Fb")
    assert echo["query"] == "x=1%202&y=%ED%95%9C"
    assert echo["body"] == body.decode() and echo["body_len"] == len(body)
    assert hdr(echo, "x-custom") == ["yes"]
    assert hdr(echo, "x-drop") == []
    assert hdr(echo, "x-forwarded-for") == ["203.0.113.9, 127.0.0.1"]
    assert hdr(echo, "x-forwarded-proto") == ["http"]
    assert hdr(echo, "x-forwarded-host") == [url.removeprefix("http://")]
    assert hdr(echo, "x-request-id") == ["client-rid"]
    assert r.headers["x-request-id"] == "client-rid"
    # response side: end-to-end headers kept, hop-by-hop (and Connection-named) dropped
    assert r.headers["x-upstream"] == "legacy"
    assert "x-secret" not in r.headers


def test_request_id_generated_when_absent(gateway):
    url, _ = gateway
    r = httpx.get(url + "/x")
    assert len(r.headers["x-request-id"]) == 32
    assert hdr(r.json(), "x-request-id") == [r.headers["x-request-id"]]


def test_upstream_status_codes_stream_through(gateway):
    url, _ = gateway
    for code in (201, 204, 301, 404, 422, 500, 503):
        r = httpx.get(url + f"/status/{code}", headers={"X-User-Id": LEGACY_USER})
        assert r.status_code == code


def test_sse_reaches_the_client_event_by_event(gateway, upstreams):
    url, _ = gateway
    canary = upstreams["canary"][0]
    canary.release.clear()
    canary.stream_finished.clear()
    with httpx.stream("GET", url + "/sse", headers={"X-User-Id": CANARY_USER}, timeout=15) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == "event: first"
        assert next(lines) == "data: 1"
        # the upstream is still holding the stream open: the first event was not buffered
        assert not canary.stream_finished.is_set()
        canary.release.set()
        rest = list(lines)
    assert "event: second" in rest and canary.stream_finished.is_set()


def test_large_bodies_both_ways(gateway):
    url, _ = gateway
    r = httpx.post(url + "/upload", content=b"z" * 900_000, headers={"X-User-Id": LEGACY_USER})
    assert r.json()["body_len"] == 900_000
    r = httpx.get(url + "/big/5000000", headers={"X-User-Id": LEGACY_USER})
    assert r.status_code == 200 and len(r.content) == 5_000_000


def test_body_over_the_limit_is_413_json_and_not_forwarded(gateway, upstreams):
    url, _ = gateway
    legacy = upstreams["legacy"][0]
    before = legacy.hits
    r = httpx.post(url + "/upload", content=b"z" * 1_000_001)
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large" and r.json()["request_id"]

    def chunked():
        for _ in range(20):
            yield b"z" * 100_000

    r = httpx.post(url + "/upload", content=chunked())
    assert r.status_code == 413
    assert legacy.hits == before


def test_upstream_timeout_is_504_json(gateway):
    url, _ = gateway
    r = httpx.get(url + "/slow?s=3", headers={"X-User-Id": LEGACY_USER}, timeout=10)
    assert r.status_code == 504
    body = r.json()
    assert body["code"] == "upstream_timeout" and body["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text


def test_unreachable_legacy_is_502_json(upstreams):
    dead = f"http://127.0.0.1:{free_port()}"
    with running_gateway(legacy_url=dead, canary_url=upstreams["canary"][1]) as (url, _):
        r = httpx.get(url + "/anything")
        assert r.status_code == 502
        assert r.json()["code"] == "upstream_unreachable"
        assert r.headers["x-canary-target"] == "legacy"


def test_unreachable_canary_fails_over_to_legacy_and_counts_a_canary_error(upstreams):
    dead = f"http://127.0.0.1:{free_port()}"
    legacy_url = upstreams["legacy"][1]
    with running_gateway(legacy_url=legacy_url, canary_url=dead, canary_percent=100) as (url, app):
        r = httpx.post(url + "/chat", json={"user_id": "anyone"})
        assert r.status_code == 200 and r.json()["name"] == "legacy"
        assert r.headers["x-canary-target"] == "legacy"
        rows = {row.target: row for row in app.runtime.aggregator.drain()}
        assert (rows["canary"].requests, rows["canary"].errors) == (1, 1)
        assert (rows["legacy"].requests, rows["legacy"].successes) == (1, 1)
        metrics = httpx.get(url + "/metrics").text
        assert 'gateway_upstream_errors_total{kind="connect",target="canary"} 1.0' in metrics


def test_canary_5xx_is_retried_on_legacy_only_where_opted_in(gateway, upstreams):
    url, _ = gateway
    r = httpx.get(url + "/status/503", headers={"X-User-Id": CANARY_USER})
    assert r.status_code == 503 and r.headers["x-canary-target"] == "canary"
    # /status/502 opts in: the canary's 502 is dropped and legacy answers (with its own 502)
    r = httpx.get(url + "/status/502", headers={"X-User-Id": CANARY_USER})
    assert r.json()["name"] == "legacy" and r.headers["x-canary-target"] == "legacy"


def test_pinned_path_goes_to_its_target(gateway):
    url, _ = gateway
    r = httpx.get(url + "/only-canary/a", headers={"X-User-Id": LEGACY_USER})
    assert r.json()["name"] == "canary"


@pytest.mark.parametrize(
    ("enabled", "user", "force", "side"),
    [
        (True, LEGACY_USER, "canary", "canary"),
        (True, CANARY_USER, "LEGACY", "legacy"),  # any case
        (True, LEGACY_USER, "blue", "legacy"),  # not a target: the hash decides
        (False, LEGACY_USER, "canary", "legacy"),  # off by default: testers cannot force
    ],
)
def test_the_force_header_picks_the_target_only_when_enabled(upstreams, enabled, user, force, side):
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1], canary_percent=5,
        force_header_enabled=enabled,
    ) as (url, _):  # fmt: skip
        r = httpx.get(url + "/chat", headers={"X-User-Id": user, "X-Canary-Force": force})
    assert (r.headers["x-canary-target"], r.json()["name"]) == (side, side)


JSON = {"content-type": "application/json"}
MALFORMED = [
    ("invalid JSON body", {"content": b'{"user_id": "user_19"', "headers": JSON}),
    ("number user_id", {"json": {"user_id": 19}}),
    ("empty user_id", {"json": {"user_id": ""}}),
    ("10 kB user_id", {"json": {"user_id": "u" * 10_000}}),
    ("invalid UTF-8 body", {"content": b'{"user_id": "\xff"}', "headers": JSON}),
    ("invalid UTF-8 header", {"headers": [("x-user-id", b"\xff\xfe")]}),
    ("odd header bytes", {"headers": [("x-odd", b"caf\xe9\x80")]}),
]  # fmt: skip


@pytest.mark.parametrize(("why", "kwargs"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_routes_to_legacy_and_the_gateway_keeps_serving(gateway, why, kwargs):
    url, _ = gateway
    r = httpx.post(url + "/chat", **kwargs)
    assert r.status_code == 200, why
    assert r.headers["x-canary-target"] == "legacy", why
    assert httpx.get(url + "/healthz").status_code == 200


def test_target_header_can_be_turned_off(upstreams):
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1],
        target_header_enabled=False,
    ) as (url, _):  # fmt: skip
        r = httpx.get(url + "/x")
        assert r.status_code == 200 and "x-canary-target" not in r.headers


def test_own_endpoints_are_not_proxied_nor_counted(upstreams):
    legacy, legacy_url = upstreams["legacy"]
    with running_gateway(legacy_url=legacy_url, canary_url=upstreams["canary"][1]) as (url, app):
        before = legacy.hits
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert httpx.get(url + "/metrics").status_code == 200
        assert httpx.get(url + "/admin/rollout").status_code == 404  # no rollout attached
        assert legacy.hits == before
        assert app.runtime.aggregator.drain() == []


def test_readyz_is_503_when_an_upstream_is_down(upstreams):
    dead = f"http://127.0.0.1:{free_port()}"
    with running_gateway(legacy_url=upstreams["legacy"][1], canary_url=dead) as (url, _):
        r = httpx.get(url + "/readyz")
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert checks["legacy"]["ok"] is True
        assert checks["canary"] == {
            "ok": False,
            "url": dead + "/health",
            "error": "upstream_unreachable",
        }


def test_outcomes_are_recorded_for_the_controller_and_prometheus(upstreams):
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1], canary_percent=100,
    ) as (url, app):  # fmt: skip
        for code in (200, 200, 302, 404, 500, 503):
            httpx.get(url + f"/status/{code}", headers={"X-User-Id": "x"})
        rows = app.runtime.aggregator.drain()
        canary = [r for r in rows if r.target == "canary"]
        assert sum(r.requests for r in canary) == 6
        assert sum(r.successes for r in canary) == 3
        assert sum(r.errors for r in canary) == 2
        metrics = httpx.get(url + "/metrics").text
        assert 'gateway_requests_total{status_class="5xx",target="canary"} 2.0' in metrics
        assert 'gateway_request_duration_seconds_count{target="canary"} 6.0' in metrics
        assert "gateway_canary_percent 100.0" in metrics


class BrokenUpstream:
    """A raw TCP server that promises 100 bytes, sends `partial`, then hangs up."""

    def __init__(self, partial: bytes) -> None:
        self.partial = partial

    def __enter__(self) -> str:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        threading.Thread(target=self._serve, daemon=True).start()
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + self.partial)

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_upstream_hanging_up_before_the_body_is_a_502_json(upstreams):
    with BrokenUpstream(b"") as broken, running_gateway(
        legacy_url=broken, canary_url=upstreams["canary"][1]
    ) as (url, app):  # fmt: skip
        r = httpx.get(url + "/x")
        assert r.status_code == 502 and r.json()["code"] == "upstream_protocol_error"
        rows = app.runtime.aggregator.drain()
        assert [(row.target, row.errors) for row in rows] == [("legacy", 1)]


def test_upstream_hanging_up_mid_body_cuts_the_response_and_counts_an_error(upstreams):
    with BrokenUpstream(b"x" * 10) as broken, running_gateway(
        legacy_url=broken, canary_url=upstreams["canary"][1]
    ) as (url, app):  # fmt: skip
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url + "/x")
        assert httpx.get(url + "/healthz").status_code == 200
        rows = app.runtime.aggregator.drain()
        assert [(row.target, row.errors) for row in rows] == [("legacy", 1)]


@pytest.fixture
def recorder():
    """A fresh upstream per test, so "it received nothing" means this test's requests."""
    upstream = Upstream("legacy")
    with (
        serve_app(upstream.app) as upstream_url,
        running_gateway(legacy_url=upstream_url, canary_url=upstream_url) as (url, app),
    ):
        yield upstream, url, app


def _events(logs, *names):
    return [e for e in logs if e["event"] in names]


@pytest.mark.parametrize(
    ("why", "payload"),
    [
        ("bad chunk size after one good chunk: the parser answers 400",
         b"POST /record HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"5\r\nhello\r\nZZ\r\nmore\r\n0\r\n\r\n"),
        ("Content-Length 100, 10 bytes sent, then the client hangs up",
         b"POST /record HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789"),
    ],
)  # fmt: skip
def test_an_unfinished_body_is_never_forwarded_nor_counted(recorder, why, payload):
    upstream, url, app = recorder
    with captured_logs() as logs:
        with connect(url) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            answer = read_all(sock)
        wait_until(lambda: _events(logs, "gateway.client_closed"), 5.0, "gateway.client_closed")
    assert answer == b"" or parse(answer).status == 400, why
    assert upstream.received == [], why
    [closed] = _events(logs, "gateway.client_closed")
    assert (closed["method"], closed["path"]) == ("POST", "/record")
    assert len(closed["request_id"]) == 32
    assert app.runtime.aggregator.drain() == [], why
    assert "gateway_requests_total{" not in httpx.get(url + "/metrics").text
    # the gateway still serves; only the finished request ever reaches the upstream
    assert httpx.post(url + "/record", content=b"whole").status_code == 200
    assert upstream.received == [("POST", "/record", b"whole")], why
    # access lines are written in order: once the finished request's is out, any line the
    # unfinished one had would be out too
    wait_until(lambda: access_lines(app), 5.0, "the finished request's access line")
    assert [(e["path"], e["status"]) for e in access_lines(app)] == [("/record", 200)], why


# series and in flight ----------------------------------------------------------------------


def test_hash_routed_legacy_is_also_baseline_and_overrides_are_not(upstreams):
    """The judge's baseline (DESIGN.md "Health policy"): legacy routed by the hash, counted in
    `legacy` and `baseline`; no identity and pinned paths only in `legacy`; every request
    departed once (`started`) and landed (nothing left in flight)."""
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=upstreams["canary"][1], canary_percent=5,
        pinned_paths={"/pinned": "legacy"},
    ) as (url, app):  # fmt: skip
        httpx.get(url + "/x", headers={"X-User-Id": LEGACY_USER})  # hash -> legacy, baseline
        httpx.get(url + "/x", headers={"X-User-Id": CANARY_USER})  # hash -> canary
        httpx.get(url + "/x")  # no identity -> legacy only
        httpx.get(url + "/pinned", headers={"X-User-Id": LEGACY_USER})  # pinned -> legacy only
        aggregator = app.runtime.aggregator
        rows = aggregator.drain(app.runtime.recorder.clock() + 5.0)
        metrics = httpx.get(url + "/metrics").text
    totals = {name: (sum(r.requests for r in rows if r.target == name),
                     sum(r.started for r in rows if r.target == name))
              for name in ("legacy", "baseline", "canary")}  # fmt: skip
    assert totals == {"legacy": (3, 3), "baseline": (1, 1), "canary": (1, 1)}
    # Nothing left in flight at the end: a request that straddled a second boundary shows in
    # flight in the second it began (that is what in-flight means), never in the last one.
    last = max(r.second for r in rows)
    assert all(r.inflight.total == 0 for r in rows if r.second == last)
    assert sum(r.inflight.total for r in rows) <= 4
    assert 'gateway_requests_total{status_class="2xx",target="baseline"} 1.0' in metrics


def test_a_failover_lands_its_flight_and_its_legacy_leg_is_never_baseline(upstreams):
    dead = f"http://127.0.0.1:{free_port()}"
    with running_gateway(
        legacy_url=upstreams["legacy"][1], canary_url=dead, canary_percent=5,
    ) as (url, app):  # fmt: skip
        r = httpx.get(url + "/x", headers={"X-User-Id": CANARY_USER})
        assert r.headers["x-canary-target"] == "legacy"
        rows = app.runtime.aggregator.drain(app.runtime.recorder.clock() + 5.0)
    by_series = {r.target: r for r in rows if r.requests}
    assert set(by_series) == {"canary", "legacy"}  # no baseline: the leg was not hash-routed
    assert (by_series["canary"].errors, by_series["legacy"].successes) == (1, 1)
    assert sum(r.started for r in rows) == 1  # departed once, as routed (canary)
    last = max(r.second for r in rows)  # landed: in flight at most across a boundary it crossed
    assert all(r.inflight.total == 0 for r in rows if r.second == last)


@pytest.mark.anyio
async def test_a_request_cancelled_while_in_flight_still_lands(upstreams):
    """Cancelled while the upstream is thinking (no outcome is ever recorded): the proxy's
    finally lands it, so no age of it is written for the seconds after."""
    import asyncio

    from prometheus_client import CollectorRegistry

    from gateway.aggregate import Aggregator
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    legacy, legacy_url = upstreams["legacy"]
    settings = GatewaySettings(percent_source="static", legacy_url=legacy_url,
                               canary_url=upstreams["canary"][1])  # fmt: skip
    app = create_app(settings, registry=CollectorRegistry(), aggregator=Aggregator())
    runtime = app.runtime
    await runtime.client.open()
    try:
        scope = {"type": "http", "method": "GET", "path": "/slow", "raw_path": b"/slow",
                 "query_string": b"s=3", "headers": [(b"x-user-id", LEGACY_USER.encode())],
                 "client": ("127.0.0.1", 1), "scheme": "http"}  # fmt: skip

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            raise AssertionError("nothing is answered: the request is cancelled first")

        hits = legacy.hits
        task = asyncio.ensure_future(app.proxy(scope, receive, send))
        deadline = asyncio.get_running_loop().time() + 5
        while legacy.hits == hits and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await runtime.client.close()
    assert runtime.aggregator is not None
    rows = runtime.aggregator.drain(runtime.recorder.clock() + 10.0)
    assert sum(r.started for r in rows if r.target == "legacy") == 1
    assert sum(r.requests for r in rows) == 0  # no outcome: cancelled
    assert all(r.inflight.tail(2_000.0) == 0 for r in rows)  # not "in flight" for 10 s


def test_one_users_cookie_never_reaches_the_upstream_with_another_users_request():
    """The upstream's `Set-Cookie` goes to the client that asked, and nowhere else: the proxy's
    client keeps no cookie jar (aiohttp's default one stores cookies of named hosts, such as
    `localhost` or a Cloud Run URL, and sends them along with every later request)."""

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def echo_cookie(request: Request) -> Response:
        response = Response(request.headers.get("cookie", ""), media_type="text/plain")
        response.headers["set-cookie"] = "session=alice; Path=/"
        return response

    upstream = Starlette(routes=[Route("/{path:path}", echo_cookie)])

    with serve_app(upstream) as upstream_url:
        named = upstream_url.replace("127.0.0.1", "localhost")
        with running_gateway(legacy_url=named, canary_url=named) as (url, _):
            alice = httpx.get(url + "/login", headers={"x-user-id": "alice"})
            assert alice.headers["set-cookie"] == "session=alice; Path=/"
            bob = httpx.get(url + "/whoami", headers={"x-user-id": "bob"})
    assert bob.status_code == 200
    assert bob.content == b""
