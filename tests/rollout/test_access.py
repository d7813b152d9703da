"""rollout/access.py: which role a request has, and what it may do (requests built in memory)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from rollout.access import Access, AccessDenied
from rollout.dashboard.session import COOKIE_NAME
from rollout.roles import Role

OPERATOR, VIEWER = "operator-token-1", "viewer-token-22"
NOW = 1000.0


def request(headers: dict[str, str] | None = None, method: str = "GET") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": "/admin/rollout", "headers": raw,
             "client": ("10.0.0.7", 5555), "query_string": b""}  # fmt: skip
    return Request(scope)


@pytest.fixture
def access() -> Access:
    return Access(OPERATOR, VIEWER)


def cookie_for(access: Access, role: Role) -> tuple[dict[str, str], str]:
    session = access.sessions.issue(role, NOW)
    return {
        "cookie": f"{COOKIE_NAME}={access.sessions.encode(session)}"
    }, access.sessions.csrf_token(session)


@pytest.mark.parametrize(
    ("token", "role"),
    [(OPERATOR, Role.OPERATOR), (VIEWER, Role.VIEWER), ("", None), (OPERATOR + "x", None),
     (OPERATOR[:-1], None), (VIEWER.upper(), None)],
)  # fmt: skip
def test_role_for_token(access, token, role):
    assert access.role_for_token(token) is role


def test_without_a_viewer_token_nobody_signs_in_as_viewer():
    access = Access(OPERATOR)
    assert access.role_for_token(VIEWER) is None and not access.has_viewer


def test_the_two_tokens_must_differ():
    with pytest.raises(ValueError, match="must differ"):
        Access(OPERATOR, OPERATOR)


@pytest.mark.parametrize(
    ("authorization", "role", "actor"),
    [
        (f"Bearer {OPERATOR}", Role.OPERATOR, "operator@10.0.0.7"),
        (f"bearer {VIEWER}", Role.VIEWER, "viewer@10.0.0.7"),
        (f"Bearer  {OPERATOR} ", Role.OPERATOR, "operator@10.0.0.7"),
    ],
)
def test_bearer_tokens(access, authorization, role, actor):
    principal = access.authenticate(request({"authorization": authorization}), NOW)
    assert (principal.role, principal.actor, principal.session) == (role, actor, None)


@pytest.mark.parametrize("authorization", ["Bearer nope", f"Basic {OPERATOR}", "Bearer", ""])
def test_wrong_bearer_is_401_even_with_a_valid_cookie(access, authorization):
    headers, _ = cookie_for(access, Role.OPERATOR)
    with pytest.raises(AccessDenied) as denied:
        access.authenticate(request({**headers, "authorization": authorization}), NOW)
    assert (denied.value.status, denied.value.code) == (401, "unauthorized")


def test_a_cookie_names_its_role_and_its_session(access):
    headers, _ = cookie_for(access, Role.VIEWER)
    principal = access.authenticate(request(headers), NOW)
    assert principal.role is Role.VIEWER
    assert principal.session is not None and principal.actor == principal.session.actor


def test_changes_need_csrf_from_a_cookie_and_the_operator_role(access):
    headers, csrf = cookie_for(access, Role.OPERATOR)
    principal = access.authenticate(request(headers), NOW)
    for extra, code in (({}, "csrf_missing"), ({"x-csrf-token": "f" * 64}, "csrf_invalid")):
        with pytest.raises(AccessDenied) as denied:
            access.authorize_change(request({**headers, **extra}, "POST"), principal)
        assert (denied.value.status, denied.value.code) == (403, code)
    access.authorize_change(request({**headers, "x-csrf-token": csrf}, "POST"), principal)

    viewer_headers, viewer_csrf = cookie_for(access, Role.VIEWER)
    viewer = access.authenticate(request(viewer_headers), NOW)
    with pytest.raises(AccessDenied) as denied:
        access.authorize_change(request({**viewer_headers, "x-csrf-token": viewer_csrf}), viewer)
    assert (denied.value.status, denied.value.code) == (403, "read_only")


def test_a_bearer_viewer_may_not_act(access):
    principal = access.authenticate(request({"authorization": f"Bearer {VIEWER}"}), NOW)
    with pytest.raises(AccessDenied) as denied:
        access.authorize_change(request(method="POST"), principal)
    assert denied.value.code == "read_only"


def test_an_expired_or_foreign_cookie_is_named(access):
    headers, _ = cookie_for(access, Role.OPERATOR)
    with pytest.raises(AccessDenied) as expired:
        access.authenticate(request(headers), NOW + access.sessions.ttl_seconds)
    assert (expired.value.status, expired.value.code) == (401, "session_expired")
    with pytest.raises(AccessDenied) as foreign:
        Access("another-operator-1").authenticate(request(headers), NOW)
    assert foreign.value.code == "invalid_session"
