"""rollout/dashboard/routes.py through the real gateway on loopback: sessions, cookies, CSRF,
roles, the sign-in limit, the series endpoint and the page's headers."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from gateway.aggregate import LatencyHistogram, TargetSecond
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from rollout.dashboard.assets import CSP, STATIC_FILES
from rollout.dashboard.session import COOKIE_NAME
from rollout.extension import GatewayRollout
from rollout.settings import RolloutSettings
from rollout.store.sqlite import SqliteStore
from tests.support.servers import free_port, serve_app, wait_http_ok

OPERATOR = "operator-token-0123"
VIEWER = "viewer-token-4567"
TTL = 600


class Clock:
    """Wall time plus an offset the test moves (sessions expire, limits run out)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Stack:
    def __init__(self, url: str, store: SqliteStore, clock: Clock) -> None:
        self.url, self.store, self.clock = url, store, clock

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0, **kwargs)

    @contextlib.contextmanager
    def signed_in(self, token: str, **kwargs) -> Iterator[tuple[httpx.Client, dict]]:
        with self.client(**kwargs) as client:
            response = client.post("/admin/session", json={"token": token})
            assert response.status_code == 200, response.text
            yield client, response.json()


def gateway_app(tmp_path, clock: Clock, admin_token: str | None = OPERATOR):
    settings = RolloutSettings(store_url=f"sqlite:///{tmp_path}/r.db", profile="demo")
    store = SqliteStore(settings.sqlite_path)
    rollout = GatewayRollout(
        settings,
        admin_token=admin_token,
        viewer_token=VIEWER if admin_token else None,
        session_ttl_seconds=TTL,
        registry=CollectorRegistry(),
        store=store,
        clock=clock,
        run_controller=False,
        process_id="gw-test",
    )
    unused = f"http://127.0.0.1:{free_port()}"
    gateway = GatewaySettings(legacy_url=unused, canary_url=unused, admin_token=admin_token)
    return create_gateway(gateway, registry=CollectorRegistry(), rollout=rollout), store


@pytest.fixture
def stack(tmp_path):
    clock = Clock()
    app, store = gateway_app(tmp_path, clock)
    with serve_app(app) as url:
        yield Stack(url, store, clock)


def set_cookie(response: httpx.Response) -> dict[str, str]:
    """The Set-Cookie attributes of the session cookie, lower-cased names."""
    header = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
    name_value, *attributes = [part.strip() for part in header.split(";")]
    name, _, value = name_value.partition("=")
    assert name == COOKIE_NAME
    found = {"value": value}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        found[key.lower()] = val
    return found


def assert_page_headers(response: httpx.Response) -> None:
    h = response.headers
    assert h["content-security-policy"] == CSP
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "frame-ancestors 'none'"):  # fmt: skip
        assert directive in CSP
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["cache-control"] == "no-store"


# the page and its files ---------------------------------------------------------------------


def test_without_a_session_the_page_is_only_the_sign_in_form(stack):
    with stack.client() as client:
        response = client.get("/admin/ui")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_page_headers(response)
    page = response.text
    assert '<form id="signin-form" method="post" action="/admin/session">' in page
    assert 'name="token" type="password"' in page
    for part in ("history-table", "action-buttons", "verdict", "app.js", "chart"):
        assert part not in page


def test_with_a_session_the_page_is_the_dashboard(stack):
    with stack.signed_in(VIEWER) as (client, _):
        response = client.get("/admin/ui")
    assert_page_headers(response)
    assert 'id="history-table"' in response.text and "/admin/ui/static/app.js" in response.text
    assert "signin-form" not in response.text


def test_static_files_are_served_from_a_fixed_list(stack):
    with stack.client() as client:
        for name in STATIC_FILES:
            response = client.get(f"/admin/ui/static/{name}")
            assert response.status_code == 200, name
            assert_page_headers(response)
        assert (
            client.get("/admin/ui/static/app.js")
            .headers["content-type"]
            .startswith("text/javascript")
        )
        assert (
            client.get("/admin/ui/static/style.css").headers["content-type"].startswith("text/css")
        )
        for bad in ("index.html", "routes.py", "..%2Froutes.py", "%2e%2e%2fsession.py", "nope.js"):
            response = client.get(f"/admin/ui/static/{bad}")
            assert response.status_code == 404, bad
            assert "import" not in response.text  # no source leaked


# signing in ------------------------------------------------------------------------------


def test_json_sign_in_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(stack):
    with stack.client() as client:
        response = client.post("/admin/session", json={"token": OPERATOR})
        assert response.status_code == 200
        body = response.json()
        assert body["role"] == "operator" and body["may_act"] is True
        assert re.fullmatch(r"session-[0-9a-f]{6}", body["session"])
        assert re.fullmatch(r"[0-9a-f]{64}", body["csrf_token"])
        assert_page_headers(response)
        cookie = set_cookie(response)
        assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/admin" and cookie["max-age"] == str(TTL)
        assert "secure" not in cookie  # plain http on loopback
        assert OPERATOR not in response.headers["set-cookie"]
        again = client.get("/admin/session").json()  # the cookie alone identifies the session
        assert (again["role"], again["session"], again["csrf_token"]) == (
            "operator", body["session"], body["csrf_token"]
        )  # fmt: skip


def test_behind_an_https_front_the_cookie_is_secure(stack):
    with stack.client() as client:
        response = client.post(
            "/admin/session", json={"token": VIEWER}, headers={"x-forwarded-proto": "https"}
        )
    assert response.json()["role"] == "viewer"
    assert "secure" in set_cookie(response)


def test_form_sign_in_redirects_to_the_page_and_a_wrong_token_shows_the_form_again(stack):
    with stack.client() as client:
        response = client.post("/admin/session", data={"token": OPERATOR})
        assert (response.status_code, response.headers["location"]) == (303, "/admin/ui")
        assert "httponly" in set_cookie(response)
        assert "signin-form" not in client.get("/admin/ui").text  # signed in
    with stack.client() as client:
        wrong = client.post("/admin/session", data={"token": "not-the-token"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert "signin-form" in wrong.text and "Sign-in refused: wrong token." in wrong.text
        assert "not-the-token" not in wrong.text


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"token": 5}', 422, "invalid_body"),
        (b'["x"]', 422, "invalid_body"),
        (b'{"token": "x", "role": "operator"}', 422, "invalid_body"),
        (b"{nope", 422, "invalid_json"),
        (b'{"token": "' + b"x" * 5000 + b'"}', 413, "body_too_large"),
    ],
)
def test_bad_sign_in_bodies_are_refused_by_name(stack, content, status, code):
    with stack.client() as client:
        response = client.post(
            "/admin/session", content=content, headers={"content-type": "application/json"}
        )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert "set-cookie" not in response.headers


def test_a_form_with_too_many_fields_is_refused(stack):
    with stack.client() as client:
        response = client.post("/admin/session", data={f"f{i}": "x" for i in range(10)})
    assert response.status_code == 422 and "signin-form" in response.text
    assert "too many form fields" in response.text


def test_failed_sign_ins_are_rate_limited_and_logged_without_the_token(stack):
    with stack.client() as client, capture_logs() as logs:
        for _ in range(5):
            wrong = client.post("/admin/session", json={"token": "guess-number-n"})
            assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_token")
        limited = client.post("/admin/session", json={"token": OPERATOR})  # even the right one
        assert (limited.status_code, limited.json()["code"]) == (429, "signin_rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "set-cookie" not in limited.headers
        stack.clock.offset += 61  # the window ends
        assert client.post("/admin/session", json={"token": OPERATOR}).status_code == 200
    failed = [e for e in logs if e["event"] == "rollout.signin_failed"]
    assert [e["failures"] for e in failed] == [1, 2, 3, 4, 5]
    assert failed[0]["client"] == "127.0.0.1"
    assert any(e["event"] == "rollout.signin_rate_limited" for e in logs)
    assert any(e["event"] == "rollout.signin" and e["role"] == "operator" for e in logs)
    assert not [e for e in logs if "guess-number-n" in repr(e) or OPERATOR in repr(e)]


# acting from the page ------------------------------------------------------------------------


def test_a_page_action_needs_the_sessions_csrf_token(stack):
    with stack.signed_in(OPERATOR) as (client, session):
        missing = client.post("/admin/rollout/start", json={})
        assert (missing.status_code, missing.json()["code"]) == (403, "csrf_missing")
        wrong = client.post("/admin/rollout/start", json={}, headers={"x-csrf-token": "0" * 64})
        assert (wrong.status_code, wrong.json()["code"]) == (403, "csrf_invalid")
        assert client.get("/admin/rollout").json()["version"] == 0  # nothing applied
        csrf = {"x-csrf-token": session["csrf_token"]}
        started = client.post("/admin/rollout/start", json={"expected_version": 0}, headers=csrf)
        assert started.status_code == 200 and started.json()["percent"] == 5
        assert started.headers["cache-control"] == "no-store"
        history = client.get("/admin/rollout/history").json()["history"]
    assert history[0]["actor"] == f"operator:{session['session']}"
    assert OPERATOR not in repr(history) and session["csrf_token"] not in repr(history)


def test_a_csrf_token_of_another_session_is_refused(stack):
    with stack.signed_in(OPERATOR) as (_, other), stack.signed_in(OPERATOR) as (one, _):
        response = one.post(
            "/admin/rollout/start", headers={"x-csrf-token": other["csrf_token"]}, json={}
        )
    assert (response.status_code, response.json()["code"]) == (403, "csrf_invalid")


def test_a_stale_page_gets_the_conflict_not_an_overwrite(stack):
    with stack.signed_in(OPERATOR) as (client, session):
        csrf = {"x-csrf-token": session["csrf_token"]}
        client.post("/admin/rollout/start", json={}, headers=csrf)
        client.post("/admin/rollout/advance", json={}, headers=csrf)  # version 2 now
        stale = client.post("/admin/rollout/advance", json={"expected_version": 1}, headers=csrf)
        assert stale.status_code == 409
        assert (stale.json()["code"], stale.json()["version"]) == ("conflict", 2)
        assert client.get("/admin/rollout").json()["percent"] == 10


def test_the_viewer_may_only_read_with_a_cookie_or_a_bearer_token(stack):
    with stack.signed_in(VIEWER) as (client, session):
        assert session["may_act"] is False
        assert client.get("/admin/rollout").status_code == 200
        assert client.get("/admin/rollout/history").status_code == 200
        assert client.get("/admin/rollout/series").status_code == 200
        refused = client.post(
            "/admin/rollout/start", json={}, headers={"x-csrf-token": session["csrf_token"]}
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "read_only")
    bearer = {"authorization": f"Bearer {VIEWER}"}
    with stack.client(headers=bearer) as api:
        assert api.get("/admin/rollout").json()["state"] == "idle"
        for verb in ("start", "advance", "pause", "resume", "rollback"):
            refused = api.post(f"/admin/rollout/{verb}", json={})
            assert (refused.status_code, refused.json()["code"]) == (403, "read_only"), verb
        assert api.get("/admin/rollout").json()["version"] == 0


def test_bearer_clients_need_no_csrf_token(stack):
    with stack.client(headers={"authorization": f"Bearer {OPERATOR}"}) as api:
        started = api.post("/admin/rollout/start")
    assert started.status_code == 200
    assert started.json()["controller"] == {"process": "gw-test", "role": "off"}


def test_a_bearer_token_wins_over_a_cookie(stack):
    with stack.signed_in(OPERATOR) as (client, _):
        response = client.post(
            "/admin/rollout/start", headers={"authorization": f"Bearer {VIEWER}"}
        )  # a viewer's script cannot borrow the operator's cookie
    assert (response.status_code, response.json()["code"]) == (403, "read_only")


# sessions ending --------------------------------------------------------------------------


def test_an_expired_session_is_refused_and_the_page_asks_to_sign_in(stack):
    with stack.signed_in(OPERATOR) as (client, session):
        stack.clock.offset += TTL + 1
        response = client.get("/admin/rollout")
        assert (response.status_code, response.json()["code"]) == (401, "session_expired")
        acted = client.post(
            "/admin/rollout/start", json={}, headers={"x-csrf-token": session["csrf_token"]}
        )
        assert acted.status_code == 401
        page = client.get("/admin/ui").text
    assert "signin-form" in page and "Your session expired" in page


def test_a_tampered_cookie_is_refused(stack):
    with stack.signed_in(VIEWER) as (client, _):
        raw = client.cookies[COOKIE_NAME]
    body, _, mac = raw.partition(".")
    for forged in (f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", f"{body[:-2]}.{mac}"):
        with stack.client(cookies={COOKIE_NAME: forged}) as other:
            response = other.get("/admin/rollout")
            assert (response.status_code, response.json()["code"]) == (401, "invalid_session")
            assert "signin-form" in other.get("/admin/ui").text


def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(stack):
    with stack.signed_in(OPERATOR) as (client, session):
        refused = client.post("/admin/session/logout")
        assert (refused.status_code, refused.json()["code"]) == (403, "csrf_missing")
        out = client.post("/admin/session/logout", headers={"x-csrf-token": session["csrf_token"]})
        assert out.status_code == 200
        cookie = set_cookie(out)
        assert cookie["max-age"] == "0" and cookie["path"] == "/admin"
        assert "signin-form" in client.get("/admin/ui").text


def test_no_admin_token_means_no_dashboard(tmp_path):
    app, _ = gateway_app(tmp_path, Clock(), admin_token=None)
    with serve_app(app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/admin/ui").status_code == 404
        assert client.post("/admin/session", json={"token": "anything-at-all"}).status_code in (
            404,
            405,
        )
        # not found, or (until every /admin miss answers 404) the verb route's 405: no chart
        assert client.get("/admin/rollout/series").status_code in (404, 405)


# the charts' series -----------------------------------------------------------------------


def seconds_of_traffic(store: SqliteStore, now: int, series: str, n: int, errors: int) -> None:
    rows = []
    for second in range(now - n, now):
        hist = LatencyHistogram()
        hist.add(20.0, 10)
        rows.append(TargetSecond(second, series, 10, errors, 10 - errors, hist))
    store.append_aggregates(rows)


def test_series_points_come_from_every_process_rows(stack):
    now = int(stack.clock())
    seconds_of_traffic(stack.store, now, "canary", 20, 1)
    seconds_of_traffic(stack.store, now, "canary", 20, 1)  # a second process, same seconds
    seconds_of_traffic(stack.store, now, "legacy", 20, 0)
    with stack.client(headers={"authorization": f"Bearer {VIEWER}"}) as api:
        doc = api.get("/admin/rollout/series", params={"since": now - 20, "step": 5}).json()
    assert doc["step"] == 5 and set(doc["series"]) == {"legacy", "canary"}
    full = [p for p in doc["series"]["canary"] if now - 20 <= p["t"] and p["t"] + 5 <= doc["until"]]
    assert full and all(p["requests"] == 100 and p["rps"] == 20.0 for p in full)
    assert all(p["error_rate"] == 0.1 for p in full)
    assert full[0]["p95_ms"] == pytest.approx(20.0, rel=0.02)


def test_series_marks_the_stage_changes(stack):
    with stack.client(headers={"authorization": f"Bearer {OPERATOR}"}) as api:
        api.post("/admin/rollout/start")
        api.post("/admin/rollout/advance")
        api.post("/admin/rollout/rollback", json={"reason": "pager"})
        doc = api.get("/admin/rollout/series").json()
    assert [(m["verb"], m["to_percent"], m["rollback"]) for m in doc["marks"]] == [
        ("start", 5, False),
        ("advance", 10, False),
        ("rollback", 0, True),
    ]
    assert doc["marks"][2]["reason"] == "pager"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since": "soon"}, "since"),
        ({"since": str(10**11)}, "since"),
        ({"since": "1"}, "since"),  # 1970: past the lookback limit
        ({"step": "0"}, "step"),
        ({"since": "-2000000", "step": "1"}, "step"),  # 23 days in 1 s points
    ],
)
def test_series_refuses_bad_parameters_by_name(stack, params, parameter):
    with stack.client(headers={"authorization": f"Bearer {VIEWER}"}) as api:
        response = api.get("/admin/rollout/series", params=params)
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["parameter"]) == ("invalid_query", parameter)
    assert parameter in body["error"]


def test_series_points_are_bounded_whatever_the_range(stack):
    with stack.client(headers={"authorization": f"Bearer {VIEWER}"}) as api:
        doc = api.get("/admin/rollout/series", params={"since": "-2000000"}).json()
    assert all(len(points) <= 1000 for points in doc["series"].values())
    assert doc["step"] >= 2000000 / 1000


def test_series_needs_a_role(stack):
    with stack.client() as anonymous:
        response = anonymous.get("/admin/rollout/series")
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")


# several gateway processes ----------------------------------------------------------------


@contextlib.contextmanager
def gateway_process(tmp_path, name: str, store_url: str) -> Iterator[str]:
    """`python -m gateway` as its own process: nothing shared with its peers but the env."""
    port = free_port()
    unused = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "ROLLOUT_"))}
    env |= {
        "GATEWAY_PORT": str(port),
        "GATEWAY_ADMIN_TOKEN": OPERATOR,
        "GATEWAY_VIEWER_TOKEN": VIEWER,
        "GATEWAY_LEGACY_URL": unused,
        "GATEWAY_CANARY_URL": unused,
        "ROLLOUT_STORE_URL": store_url,
        "ROLLOUT_PROFILE": "demo",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/healthz")
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@pytest.mark.slow
def test_a_session_from_one_gateway_process_is_accepted_by_another(tmp_path):
    store_url = f"sqlite:///{tmp_path}/shared.db"
    with (
        gateway_process(tmp_path, "a", store_url) as a,
        gateway_process(tmp_path, "b", store_url) as b,
    ):
        with httpx.Client(base_url=a) as at_a:
            session = at_a.post("/admin/session", json={"token": OPERATOR}).json()
            cookie = at_a.cookies[COOKIE_NAME]
        with httpx.Client(base_url=b, cookies={COOKIE_NAME: cookie}) as at_b:
            assert at_b.get("/admin/session").json()["session"] == session["session"]
            assert "history-table" in at_b.get("/admin/ui").text
            started = at_b.post(
                "/admin/rollout/start", json={}, headers={"x-csrf-token": session["csrf_token"]}
            )
            assert started.status_code == 200, started.text
            history = at_b.get("/admin/rollout/history").json()["history"]
        assert history[0]["actor"] == f"operator:{session['session']}"
