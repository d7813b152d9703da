"""The dashboard's endpoints, mounted by the gateway beside the admin API (only when it is on).

- `GET /admin/ui`: the page with a valid session; without one, only the sign-in form.
- `GET /admin/ui/static/{name}`: the page's files (`rollout.dashboard.assets`).
- `POST /admin/session`: exchange a token for a session cookie. JSON `{"token": ...}` answers
  JSON (with the CSRF token); a plain form post (field `token`) answers 303 to the page.
  Failed sign-ins are rate-limited per client (`signin_limit`) and logged
  (`rollout.signin_failed`, never the token).
- `GET /admin/session`: who this cookie is (role, shown session id, expiry, CSRF token).
- `POST /admin/session/logout`: clears the cookie (with the CSRF token if the session is valid).
- `GET /admin/rollout/series`: the charts' points (`series`), any role.

Live updates are polling (the page asks every second), not a stream: nothing stays open to hold
up a gateway's shutdown, no count of streams to bound, and it works behind any front (Cloud Run
ends long requests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from common.logging import get_logger
from rollout.access import Access, AccessDenied, Principal
from rollout.admin_api import AdminAPI, ApiError
from rollout.dashboard import series
from rollout.dashboard.assets import HEADERS, STATIC_FILES, load_assets, signin_page
from rollout.dashboard.session import COOKIE_NAME, COOKIE_PATH, Problem, Session
from rollout.dashboard.signin_limit import SignInLimiter
from rollout.service import RolloutService

MAX_SIGNIN_BODY_BYTES = 4096
MARKS_HISTORY = 200
PAGE_PATH = "/admin/ui"
_MESSAGES = {
    Problem.EXPIRED: "Your session expired. Sign in again.",
    Problem.INVALID: "Your session is no longer valid. Sign in again.",
}


class Dashboard:
    def __init__(
        self,
        admin: AdminAPI,
        access: Access,
        *,
        clock: Callable[[], float],
        limiter: SignInLimiter | None = None,
    ) -> None:
        self.admin = admin
        self.access = access
        self.clock = clock
        self.limiter = limiter or SignInLimiter()
        self.assets = load_assets()
        self._log = get_logger("rollout.dashboard")

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route(PAGE_PATH, self.page, methods=["GET", "HEAD"]),
            Route(PAGE_PATH + "/static/{name}", self.static, methods=["GET", "HEAD"]),
            Route("/admin/session", self.session_info, methods=["GET"]),
            Route("/admin/session", self.sign_in, methods=["POST"]),
            Route("/admin/session/logout", self.sign_out, methods=["POST"]),
            Route("/admin/rollout/series", self.admin.guarded(self.chart_series), methods=["GET"]),
        ]

    # the page ---------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        decoded = self.access.sessions.decode(request.cookies.get(COOKIE_NAME), self.clock())
        if decoded.session is not None:
            return _html(self.assets["index.html"].body)
        return _html(self._signin_html(_MESSAGES.get(decoded.problem or Problem.MISSING)))

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return _error(404, "not_found", f"no such dashboard file {name!r}")
        asset = self.assets[name]
        return Response(asset.body, media_type=asset.media_type, headers=HEADERS)

    def _signin_html(self, message: str | None) -> bytes:
        return signin_page(self.assets["signin.html"], message)

    # sessions ---------------------------------------------------------------------------

    async def sign_in(self, request: Request) -> Response:
        form = _is_form(request)
        client = request.client.host if request.client else "unknown"
        now = self.clock()
        wait = self.limiter.retry_after(client, now)
        if wait is not None:
            self._log.warning("rollout.signin_rate_limited", client=client, retry_after=wait)
            message = f"too many failed sign-ins from this address; retry in {wait} s"
            headers = {"retry-after": str(wait)}
            return self._refuse(form, 429, "signin_rate_limited", message, headers)
        try:
            token = await _token_from(request, form)
        except ApiError as exc:
            return self._refuse(form, exc.status, exc.code, exc.error)
        role = self.access.role_for_token(token) if token else None
        if role is None:
            failures = self.limiter.failed(client, now)
            self._log.warning("rollout.signin_failed", client=client, failures=failures)
            return self._refuse(form, 401, "invalid_token", "wrong token")
        session = self.access.sessions.issue(role, now)
        self._log.info("rollout.signin", role=role, session=session.shown_id, client=client)
        if form:
            response: Response = RedirectResponse(PAGE_PATH, status_code=303, headers=HEADERS)
        else:
            response = JSONResponse(self._session_doc(session), headers=HEADERS)
        self._set_cookie(response, request, session)
        return response

    def _refuse(
        self, form: bool, status: int, code: str, error: str, headers: dict[str, str] | None = None
    ) -> Response:
        if form:
            return _html(self._signin_html(f"Sign-in refused: {error}."), status, headers)
        return _error(status, code, error, headers)

    async def session_info(self, request: Request) -> Response:
        try:
            principal = self.access.authenticate(request, self.clock())
        except AccessDenied as exc:
            return _error(exc.status, exc.code, exc.error)
        if principal.session is None:
            return JSONResponse({"role": principal.role, "session": None}, headers=HEADERS)
        return JSONResponse(self._session_doc(principal.session), headers=HEADERS)

    async def sign_out(self, request: Request) -> Response:
        decoded = self.access.sessions.decode(request.cookies.get(COOKIE_NAME), self.clock())
        if decoded.session is not None:
            try:
                self.access.check_csrf(request, decoded.session)
            except AccessDenied as exc:
                return _error(exc.status, exc.code, exc.error)
            self._log.info("rollout.signout", session=decoded.session.shown_id)
        response = JSONResponse({"signed_out": True}, headers=HEADERS)
        response.delete_cookie(
            COOKIE_NAME, path=COOKIE_PATH, secure=_https(request), httponly=True, samesite="strict"
        )
        return response

    def _session_doc(self, session: Session) -> dict[str, Any]:
        return {
            "role": session.role,
            "may_act": session.role.may_act,
            "session": session.shown_id,
            "expires_at": session.expires_at,
            "csrf_token": self.access.sessions.csrf_token(session),
        }

    def _set_cookie(self, response: Response, request: Request, session: Session) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.access.sessions.encode(session),
            max_age=self.access.sessions.ttl_seconds,
            path=COOKIE_PATH,
            secure=_https(request),
            httponly=True,
            samesite="strict",
        )

    # charts -----------------------------------------------------------------------------

    async def chart_series(
        self, request: Request, service: RolloutService, principal: Principal
    ) -> JSONResponse:
        stored = await asyncio.to_thread(service.store.read)
        try:
            query = series.parse_query(request.query_params, self.clock(), stored.state.started_at)
        except series.QueryError as exc:
            raise ApiError(
                422, "invalid_query", str(exc), parameter=exc.parameter, problem=exc.problem
            ) from None
        doc = await asyncio.to_thread(_read_series, service, query)
        return JSONResponse(doc)


def _read_series(service: RolloutService, query: series.SeriesQuery) -> dict[str, Any]:
    store = service.store
    rows = {name: store.seconds(name, query.since, query.until) for name in series.SERIES}
    history = [entry.to_dict() for entry in store.history(MARKS_HISTORY)]
    return series.series_doc(rows, history, query)


def _https(request: Request) -> bool:
    """Over HTTPS, here or at the TLS front before us (Cloud Run sets X-Forwarded-Proto)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip().lower() == "https"


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


async def _token_from(request: Request, form: bool) -> str | None:
    raw = await _bounded_body(request)
    if form:
        try:
            values = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=4)
        except ValueError:
            raise ApiError(422, "invalid_body", "too many form fields") from None
        tokens = values.get("token") or []
        return tokens[0] if tokens else None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid_json", "body is not valid JSON") from None
    if not isinstance(data, dict) or set(data) != {"token"} or not isinstance(data["token"], str):
        raise ApiError(422, "invalid_body", 'body must be {"token": "<token>"}')
    return data["token"]


async def _bounded_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_SIGNIN_BODY_BYTES:
            raise ApiError(413, "body_too_large", f"body exceeds {MAX_SIGNIN_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _html(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body, status_code=status, media_type="text/html; charset=utf-8",
        headers={**HEADERS, **(headers or {})},
    )  # fmt: skip


def _error(
    status: int, code: str, error: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "code": code}, status_code=status, headers={**HEADERS, **(headers or {})}
    )
