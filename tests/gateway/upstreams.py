"""Real upstream servers for proxy tests: echo, SSE with a hold point, slow, status, big body."""

from __future__ import annotations

import asyncio
import threading
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class Upstream:
    """One fake upstream; `name` shows in every echo so tests can tell the sides apart."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self.received: list[tuple[str, str, bytes]] = []  # (method, path, body) echo saw
        self.release = threading.Event()
        self.stream_finished = threading.Event()
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/sse", self.sse, methods=["GET", "POST"]),
            Route("/slow", self.slow),
            Route("/status/{code:int}", self.status, methods=methods),
            Route("/big/{size:int}", self.big),
            Route("/health", self.health),
            Route("/{path:path}", self.echo, methods=methods),
        ]

    async def echo(self, request: Request) -> Response:
        self.hits += 1
        body = await request.body()
        self.received.append((request.method, request.url.path, body))
        raw = request.headers.raw
        return JSONResponse(
            {
                "name": self.name,
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.url.query,
                "body_len": len(body),
                "body": body.decode("utf-8", "replace")[:2000],
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in raw],
            },
            headers={"x-upstream": self.name, "connection": "keep-alive, x-secret",
                     "x-secret": "drop-me"},
        )  # fmt: skip

    async def sse(self, request: Request) -> Response:
        self.hits += 1

        async def events():
            yield b"event: first\ndata: 1\n\n"
            deadline = time.monotonic() + 10
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            yield b"event: second\ndata: 2\n\n"
            self.stream_finished.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    async def slow(self, request: Request) -> Response:
        self.hits += 1
        await asyncio.sleep(float(request.query_params.get("s", "5")))
        return JSONResponse({"name": self.name})

    async def status(self, request: Request) -> Response:
        self.hits += 1
        code = request.path_params["code"]
        return JSONResponse({"name": self.name, "status": code}, status_code=code)

    async def big(self, request: Request) -> Response:
        self.hits += 1
        return Response(b"x" * request.path_params["size"], media_type="application/octet-stream")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "healthy", "name": self.name})
