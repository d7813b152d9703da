"""rollout/admin_api.py through a real server on loopback: 200/401/404/409/422."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.app import create_app
from gateway.server import server_options
from gateway.settings import GatewaySettings
from rollout.admin_api import STORE_BUSY, STORE_UNREADABLE
from rollout.extension import GatewayRollout
from rollout.settings import RolloutSettings
from rollout.store.sqlite import SqliteStore
from tests.rollout.helpers import FlakyStore, host_app, write_locked
from tests.support.logs import captured_logs
from tests.support.servers import serve_app

TOKEN = "s3cret-token"


def make_extension(tmp_path, token: str | None = TOKEN) -> GatewayRollout:
    settings = RolloutSettings(store_url=f"sqlite:///{tmp_path}/r.db", profile="demo")
    store = SqliteStore(settings.sqlite_path)
    return GatewayRollout(
        settings,
        admin_token=token,
        registry=CollectorRegistry(),
        store=store,
        run_controller=False,
    )


@pytest.fixture
def api(tmp_path):
    ext = make_extension(tmp_path)
    with serve_app(host_app(ext)) as url:
        auth = {"authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=auth, timeout=5.0) as client:
            yield client


def test_status_of_a_fresh_store(api):
    response = api.get("/admin/rollout")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["percent"], body["version"]) == ("idle", 0, 0)
    assert body["stage"]["stages"] == [5, 10, 25, 50, 100]
    assert body["last_verdict"] is None


def test_full_rollout_through_every_verb(api):
    started = api.post("/admin/rollout/start", json={"salt": "wave-2"}).json()
    assert (started["state"], started["percent"], started["salt"]) == ("progressing", 5, "wave-2")
    assert started["soak_left_seconds"] == pytest.approx(5, abs=1)
    assert api.post("/admin/rollout/advance").json()["percent"] == 10
    assert api.post("/admin/rollout/pause", json={"reason": "lunch"}).json()["state"] == "paused"
    assert api.post("/admin/rollout/resume").json()["state"] == "progressing"
    for _ in range(3):
        last = api.post("/admin/rollout/advance").json()
    assert (last["state"], last["percent"]) == ("completed", 100)
    rolled = api.post("/admin/rollout/rollback", json={"reason": "pager", "emergency": True})
    assert (rolled.json()["state"], rolled.json()["percent"]) == ("rolled_back", 0)
    history = api.get("/admin/rollout/history", params={"limit": 2}).json()["history"]
    assert [h["verb"] for h in history] == ["rollback", "advance"]
    assert history[0]["reason"] == "pager" and history[0]["details"] == {"emergency": True}
    assert history[0]["actor"].startswith("operator@127.0.0.1")


def test_invalid_transition_is_409_naming_the_state(api):
    response = api.post("/admin/rollout/advance")
    assert response.status_code == 409
    assert response.json() == {
        "error": "cannot advance while idle",
        "code": "invalid_transition",
        "state": "idle",
    }


def test_stale_expected_version_is_a_cas_conflict(api):
    api.post("/admin/rollout/start")
    response = api.post("/admin/rollout/advance", json={"expected_version": 0})
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["state"], body["version"]) == ("conflict", "progressing", 1)
    assert api.get("/admin/rollout").json()["percent"] == 5


@pytest.mark.parametrize(
    ("path", "content", "code"),
    [
        ("/admin/rollout/start", b"{not json", "invalid_json"),
        ("/admin/rollout/start", b"[1, 2]", "invalid_body"),
        ("/admin/rollout/start", b'{"salt": 5}', "invalid_body"),
        ("/admin/rollout/start", b'{"salt": "' + b"x" * 65 + b'"}', "invalid_body"),
        ("/admin/rollout/start", b'{"sault": "typo"}', "invalid_body"),
        ("/admin/rollout/rollback", b'{"reason": ["a"]}', "invalid_body"),
        ("/admin/rollout/advance", b'{"expected_version": "1"}', "invalid_body"),
    ],
)
def test_bad_bodies_are_422(api, path, content, code):
    response = api.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert api.get("/admin/rollout").json()["version"] == 0  # nothing applied


def test_bad_history_limit_is_422(api):
    response = api.get("/admin/rollout/history", params={"limit": "many"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_query")


def test_unknown_verb_is_404(api):
    response = api.post("/admin/rollout/explode")
    assert (response.status_code, response.json()["code"]) == (404, "unknown_verb")


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer"])
def test_wrong_or_missing_token_is_401(api, header):
    headers = {"authorization": header} if header else {}
    with httpx.Client(base_url=str(api.base_url), headers=headers) as anonymous:
        for response in (anonymous.get("/admin/rollout"), anonymous.post("/admin/rollout/start")):
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"
    assert api.get("/admin/rollout").json()["state"] == "idle"


def test_no_token_configured_turns_the_api_off(tmp_path):
    with serve_app(host_app(make_extension(tmp_path, token=None))) as url:
        for method, path in [("GET", "/admin/rollout"), ("POST", "/admin/rollout/start")]:
            response = httpx.request(method, url + path, headers={"authorization": "Bearer x"})
            assert response.status_code == 404
            assert response.json()["code"] == "admin_disabled"


@contextlib.contextmanager
def gateway_with_rollout(tmp_path, token: str | None):
    """The real gateway app with the rollout extension attached, as `python -m gateway` runs it."""
    dead = "http://127.0.0.1:9"  # never contacted: these tests stay under /admin
    settings = GatewaySettings(legacy_url=dead, canary_url=dead, admin_token=token)
    app = create_app(
        settings, registry=CollectorRegistry(), rollout=make_extension(tmp_path, token)
    )
    with serve_app(app, **server_options(settings)) as url:
        yield url


ADMIN_PATHS = ["/admin", "/admin/", "/admin/rollout", "/admin/rollout/", "/admin/rollout/start",
               "/admin/rollout/history/", "/admin/ui/login", "/admin/x/y/z"]  # fmt: skip
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def test_off_everything_under_admin_is_404_whatever_the_method(tmp_path):
    """No 405 showing the route through, no trailing-slash redirect echoing the client's Host."""
    with gateway_with_rollout(tmp_path, token=None) as url:
        for path in ADMIN_PATHS:
            for method in METHODS:
                response = httpx.request(method, url + path, headers={"host": "evil.example"})
                assert response.status_code == 404, (method, path)
                assert "location" not in response.headers, (method, path)
                if method != "HEAD":
                    assert response.json()["code"] == "admin_disabled", (method, path)


def test_on_a_wrong_path_is_404_and_a_wrong_method_405_as_json_never_a_redirect(tmp_path):
    with gateway_with_rollout(tmp_path, token=TOKEN) as url:
        auth = {"authorization": f"Bearer {TOKEN}", "host": "evil.example"}
        for path in ["/admin", "/admin/", "/admin/rollout/", "/admin/rollout/history/",
                     "/admin/nope"]:  # fmt: skip
            response = httpx.get(url + path, headers=auth)
            assert response.status_code == 404 and "location" not in response.headers, path
            assert response.json()["code"] == "not_found", path
        for method, path, allow in [("PUT", "/admin/rollout", "GET, HEAD"),
                                    ("DELETE", "/admin/rollout", "GET, HEAD"),
                                    ("GET", "/admin/rollout/start", "POST")]:  # fmt: skip
            response = httpx.request(method, url + path, headers=auth)
            assert response.status_code == 405, (method, path)
            assert response.json()["code"] == "method_not_allowed", (method, path)
            assert set(response.headers["allow"].split(", ")) == set(allow.split(", "))
        assert httpx.get(url + "/admin/rollout", headers=auth).json()["state"] == "idle"


def test_a_verb_while_another_process_holds_the_write_lock_is_a_prompt_503(tmp_path):
    """The extension opens the store itself (as in production): verbs get their own short wait."""
    settings = RolloutSettings(
        store_url=f"sqlite:///{tmp_path}/r.db", profile="demo", admin_store_wait_seconds=0.3
    )
    ext = GatewayRollout(settings, admin_token=TOKEN, registry=CollectorRegistry(),
                         run_controller=False)  # fmt: skip
    auth = {"authorization": f"Bearer {TOKEN}"}
    with serve_app(host_app(ext)) as url, httpx.Client(base_url=url, headers=auth) as api:
        with write_locked(settings.sqlite_path), captured_logs() as logs:
            response = api.post("/admin/rollout/start")
            assert response.status_code == 503
            assert response.json() == {"error": STORE_BUSY, "code": "store_busy"}
            assert api.get("/admin/rollout").json()["state"] == "idle"  # reads still work
        assert "rollout.store_busy" in [e["event"] for e in logs]
        assert api.get("/admin/rollout/history").json()["history"] == []  # nothing applied
        assert api.post("/admin/rollout/start").json()["state"] == "progressing"


def test_a_store_that_fails_answers_503_with_its_kind_and_never_its_message(tmp_path):
    settings = RolloutSettings(store_url=f"sqlite:///{tmp_path}/r.db", profile="demo")
    store = FlakyStore(SqliteStore(settings.sqlite_path), kind="io")
    ext = GatewayRollout(settings, admin_token=TOKEN, registry=CollectorRegistry(), store=store,
                         run_controller=False)  # fmt: skip
    auth = {"authorization": f"Bearer {TOKEN}"}
    with serve_app(host_app(ext)) as url, httpx.Client(base_url=url, headers=auth) as api:
        store.broken = True
        for response in (api.post("/admin/rollout/start"), api.get("/admin/rollout")):
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {
                "error": STORE_UNREADABLE, "code": "store_unreadable", "kind": "io",
            }  # fmt: skip
            assert "injected" not in response.text
        store.broken = False
        assert api.post("/admin/rollout/start").json()["state"] == "progressing"
