"""A tiny starlette app playing the gateway's rollout admin API, per the design's contract.

`POST /admin/rollout/rollback` (bearer token, JSON `{"reason"}`): 200 with the status JSON, 409
naming the state when there is nothing to roll back, 401 on a bad token. `GET /admin/rollout`:
the status JSON (`state`, `percent`, `stage`).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.security import bearer_token_matches

ROLLABLE = {"progressing", "paused", "completed"}


class AdminStub:
    def __init__(self, token: str, state: str = "progressing", percent: int = 25) -> None:
        self.token = token
        self.status: dict[str, Any] = {"state": state, "percent": percent, "stage": 2}
        self.reasons: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/admin/rollout", self.get_status, methods=["GET"]),
                Route("/admin/rollout/rollback", self.rollback, methods=["POST"]),
            ]
        )

    def _denied(self, request: Request) -> JSONResponse | None:
        if bearer_token_matches(request.headers.get("authorization"), self.token):
            return None
        return JSONResponse({"error": "unauthorized", "code": "unauthorized"}, status_code=401)

    async def get_status(self, request: Request) -> JSONResponse:
        return self._denied(request) or JSONResponse(self.status)

    async def rollback(self, request: Request) -> JSONResponse:
        if denied := self._denied(request):
            return denied
        if self.status["state"] not in ROLLABLE:
            error = f"cannot rollback in state {self.status['state']}"
            return JSONResponse({"error": error, "code": "invalid_transition"}, status_code=409)
        self.reasons.append((await request.json())["reason"])
        self.status = {"state": "rolled_back", "percent": 0, "stage": None}
        return JSONResponse(self.status)
