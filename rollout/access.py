"""Who may do what under `/admin`: bearer tokens for API clients, session cookies for the page.

Two roles (`rollout.roles`): `GATEWAY_ADMIN_TOKEN` is the operator, `GATEWAY_VIEWER_TOKEN`
(optional) the viewer. A request is authenticated by, in this order:
- `Authorization: Bearer <token>`: ion-rollout, curl, scripts. No cookie, so no CSRF token:
  a browser never adds this header to a cross-site request by itself.
- the dashboard's session cookie (`rollout.dashboard.session`). A state-changing request with
  a cookie must also carry the session's CSRF token in `X-CSRF-Token`.

Refusals, each JSON with a stable `code`: 401 `unauthorized` (no or wrong token), 401
`invalid_session` / `session_expired`, 403 `csrf_missing` / `csrf_invalid`, 403 `read_only`
(a viewer asked to act). The 404 for an API that is off is the admin API's business.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from rollout.dashboard.session import COOKIE_NAME, Problem, Session, SessionCodec, derive_key
from rollout.roles import Role

CSRF_HEADER = "x-csrf-token"


class AccessDenied(Exception):
    def __init__(self, status: int, code: str, error: str) -> None:
        super().__init__(error)
        self.status, self.code, self.error = status, code, error


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    actor: str  # what the history records: `operator@10.0.0.7` or `operator:session-3f2a9c`
    session: Session | None = None  # None: a bearer-token client


_SESSION_ERRORS = {
    Problem.INVALID: "session cookie is not valid (tampered, or signed with another key)",
    Problem.EXPIRED: "session expired: sign in again",
}


class Access:
    def __init__(
        self,
        operator_token: str,
        viewer_token: str | None = None,
        *,
        session_key: str | None = None,
        session_ttl_seconds: float = 8 * 3600,
    ) -> None:
        if viewer_token is not None and _same(viewer_token, operator_token):
            raise ValueError("the viewer token must differ from the operator token")
        self._tokens = {Role.OPERATOR: operator_token, Role.VIEWER: viewer_token}
        key = derive_key(operator_token, viewer_token, session_key)
        self.sessions = SessionCodec(key, session_ttl_seconds)

    @property
    def has_viewer(self) -> bool:
        return self._tokens[Role.VIEWER] is not None

    def role_for_token(self, token: str) -> Role | None:
        """The role `token` signs in as; every configured token is compared (constant time)."""
        found = None
        for role, expected in self._tokens.items():
            if expected is not None and _same(token, expected):
                found = role
        return found

    def authenticate(self, request: Request, now: float) -> Principal:
        """Bearer first, then the session cookie; AccessDenied (401) when neither holds."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return self._bearer(authorization, request)
        decoded = self.sessions.decode(request.cookies.get(COOKIE_NAME), now)
        if decoded.session is None:
            problem = decoded.problem or Problem.MISSING
            if problem is Problem.MISSING:
                raise AccessDenied(401, "unauthorized", "missing or wrong bearer token")
            raise AccessDenied(401, problem, _SESSION_ERRORS[problem])
        session = decoded.session
        return Principal(session.role, session.actor, session)

    def authorize_change(self, request: Request, principal: Principal) -> None:
        """A state-changing request: CSRF for a session, then the role. AccessDenied (403)."""
        if principal.session is not None:
            self.check_csrf(request, principal.session)
        if not principal.role.may_act:
            raise AccessDenied(403, "read_only", f"the {principal.role} role may only read")

    def check_csrf(self, request: Request, session: Session) -> None:
        presented = request.headers.get(CSRF_HEADER)
        if not presented:
            raise AccessDenied(403, "csrf_missing", f"missing {CSRF_HEADER} header")
        if not self.sessions.csrf_matches(session, presented):
            raise AccessDenied(403, "csrf_invalid", f"{CSRF_HEADER} does not match the session")

    def _bearer(self, authorization: str, request: Request) -> Principal:
        scheme, _, token = authorization.partition(" ")
        role = self.role_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if role is None:
            raise AccessDenied(401, "unauthorized", "missing or wrong bearer token")
        host = request.client.host if request.client else "unknown"
        return Principal(role, f"{role}@{host}")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
