"""Operator API mounted by the gateway: `/admin/rollout` status, verbs and history.

Who may call it is `rollout.access`' business: a bearer token (`GATEWAY_ADMIN_TOKEN` for the
operator, `GATEWAY_VIEWER_TOKEN` for the read-only viewer, compared in constant time) or the
dashboard's session cookie (with its CSRF token on verbs); no admin token configured ->
everything under `/admin`, any method, answers 404 `admin_disabled` (off). Errors are JSON
`{"error", "code"}`: 401 wrong token or session, 403 a viewer asking to act or a missing/wrong
CSRF token, 409 invalid transition or lost compare-and-set (naming the current state), 422 bad
body, 503 `store_unreadable` with the error's `kind` (the store did not answer within its
timeouts: Redis down or cut off, a broken file), or 503 `store_busy` when another writer held
the store's lock past `ROLLOUT_ADMIN_STORE_WAIT_SECONDS` (nothing was applied; retry). Bodies
are optional; unknown fields are refused rather than ignored, so a typo (`"reson"`) never
silently drops the operator's intent. `expected_version` makes a verb conditional on the state
the operator last saw.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.logging import get_logger
from rollout.access import Access, AccessDenied, Principal
from rollout.machine import Advance, Event, InvalidTransition, Pause, Resume, Rollback, Start
from rollout.service import RolloutService
from rollout.status import status_view
from rollout.store import Conflict, StoreBusy, StoreError

MAX_BODY_BYTES = 16 * 1024
T = TypeVar("T")
Handler = Callable[[Request, RolloutService, Principal], Awaitable[JSONResponse]]
ADMIN_OFF = "admin API is off (no admin token configured)"
STORE_UNREADABLE = "rollout store unreadable; a verb may or may not have applied: check status"
STORE_BUSY = "rollout store is locked by another writer; nothing was changed, retry shortly"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    expected_version: int | None = Field(None, ge=0)


class StartBody(_Body):
    salt: str | None = Field(None, min_length=1, max_length=64)


class ReasonBody(_Body):
    reason: str | None = Field(None, max_length=500)


class RollbackBody(ReasonBody):
    emergency: bool = False


class ResumeBody(_Body):
    pass


def _start(b: StartBody, actor: str) -> Start:
    return Start(salt=b.salt, actor=actor)


VERBS: dict[str, tuple[type[_Body], Callable[[Any, str], Event]]] = {
    "start": (StartBody, _start),
    "advance": (ReasonBody, lambda b, actor: Advance(actor=actor, reason=b.reason)),
    "pause": (ReasonBody, lambda b, actor: Pause(actor=actor, reason=b.reason)),
    "resume": (ResumeBody, lambda b, actor: Resume(actor=actor)),
    "rollback": (
        RollbackBody,
        lambda b, actor: Rollback(reason=b.reason, actor=actor, emergency=b.emergency),
    ),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status, self.code, self.error, self.extra = status, code, error, extra

    def response(self) -> JSONResponse:
        headers = {"www-authenticate": "Bearer"} if self.status == 401 else None
        body = {"error": self.error, "code": self.code, **self.extra}
        return JSONResponse(body, status_code=self.status, headers=headers)


class AdminAPI:
    def __init__(
        self,
        service: Callable[[], RolloutService | None],
        access: Access | None,
        *,
        clock: Callable[[], float],
        extra_status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._service = service
        self.access = access
        self._clock = clock
        self._extra_status = extra_status
        self._log = get_logger("rollout.admin")
        self.routes = self._routes() if access else _off_routes()

    def _routes(self) -> list[Route]:
        return [
            Route("/admin/rollout", self._guarded(self.status), methods=["GET"]),
            Route("/admin/rollout/history", self._guarded(self.history), methods=["GET"]),
            Route("/admin/rollout/{verb}", self._guarded(self.act), methods=["POST"]),
        ]

    def guarded(self, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
        """`handler` behind this API's gate and error mapping (the dashboard's JSON uses it)."""
        return self._guarded(handler)

    def _guarded(self, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                principal = self.authorize(request, write=request.method == "POST")
                return _no_store(await handler(request, self._ready(), principal))
            except ApiError as exc:
                return _no_store(exc.response())
            except StoreBusy as exc:
                self._log.warning("rollout.store_busy", path=request.url.path, error=str(exc))
                return _no_store(ApiError(503, "store_busy", STORE_BUSY).response())
            except StoreError as exc:
                # The kind only: the message may name a host (never a password, but still).
                self._log.warning("rollout.store_unreadable", path=request.url.path, kind=exc.kind)
                error = ApiError(503, "store_unreadable", STORE_UNREADABLE, kind=exc.kind)
                return _no_store(error.response())

        return endpoint

    def authorize(self, request: Request, *, write: bool) -> Principal:
        """Every /admin endpoint's gate (the dashboard's too): ApiError 401/403/404."""
        if self.access is None:
            raise ApiError(404, "admin_disabled", ADMIN_OFF)
        try:
            principal = self.access.authenticate(request, self._clock())
            if write:
                self.access.authorize_change(request, principal)
        except AccessDenied as exc:
            event = "rollout.admin_unauthorized" if exc.status == 401 else "rollout.admin_forbidden"
            self._log.warning(event, path=request.url.path, code=exc.code)
            raise ApiError(exc.status, exc.code, exc.error) from None
        return principal

    def _ready(self) -> RolloutService:
        service = self._service()
        if service is None:
            raise ApiError(503, "not_ready", "rollout store not open yet")
        return service

    async def status(
        self, request: Request, service: RolloutService, principal: Principal
    ) -> JSONResponse:
        return JSONResponse(await self._status_doc(service))

    async def _status_doc(self, service: RolloutService) -> dict[str, Any]:
        stored = await _in_thread(service.store.read)
        verdict = await _in_thread(service.store.last_verdict)
        doc = status_view(stored, verdict, service.machine, self._clock())
        return {**doc, **(self._extra_status() if self._extra_status else {})}

    async def history(
        self, request: Request, service: RolloutService, principal: Principal
    ) -> JSONResponse:
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise ApiError(422, "invalid_query", "limit must be an integer within 1..1000")
        entries = await _in_thread(service.store.history, int(raw))
        return JSONResponse({"history": [e.to_dict() for e in entries]})

    async def act(
        self, request: Request, service: RolloutService, principal: Principal
    ) -> JSONResponse:
        verb = request.path_params["verb"]
        if verb not in VERBS:
            raise ApiError(404, "unknown_verb", f"unknown verb {verb!r}", verbs=sorted(VERBS))
        model, make_event = VERBS[verb]
        body = _validate(model, await _json_body(request))
        actor = principal.actor
        try:
            await service.apply(make_event(body, actor), expected_version=body.expected_version)
        except InvalidTransition as exc:
            self._log_action(verb, actor, "invalid_transition", exc)
            raise ApiError(409, "invalid_transition", str(exc), state=exc.state) from None
        except Conflict as exc:
            self._log_action(verb, actor, "conflict", exc)
            now = exc.current
            raise ApiError(
                409, "conflict", str(exc), state=now.state.status, version=now.version
            ) from None
        self._log_action(verb, actor, "ok")
        return JSONResponse(await self._status_doc(service))

    def _log_action(self, verb: str, actor: str, result: str, exc: Exception | None = None) -> None:
        detail = {"error": str(exc)} if exc else {}
        self._log.info("rollout.operator_action", verb=verb, actor=actor, result=result, **detail)


def _no_store(response: JSONResponse) -> JSONResponse:
    """Answers may be read with a session cookie: never kept by a browser or a shared cache."""
    response.headers["cache-control"] = "no-store"
    response.headers["x-content-type-options"] = "nosniff"
    return response


def _off_routes() -> list[Route]:
    """Off: one answer for every method and path under /admin, so no route shows through (a
    405 would tell a wrong method from a wrong path; a slash redirect would echo `Host`)."""
    off = ApiError(404, "admin_disabled", ADMIN_OFF).response()  # an ASGI app: any method
    return [Route("/admin", off), Route("/admin/{rest:path}", off)]


def _validate(model: type[_Body], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
        ]
        raise ApiError(422, "invalid_body", "invalid request body", problems=problems) from None


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid_json", "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "body must be a JSON object")
    return data


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)
