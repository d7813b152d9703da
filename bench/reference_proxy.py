"""The yardstick of `make bench`: the barest Python proxy that does the gateway's split.

A raw ASGI callable for uvicorn (uvloop + httptools) that forwards every request with one shared
aiohttp `ClientSession`, to the canary when the MD5 bucket of `X-User-Id` is below
`REFERENCE_CANARY_PERCENT`. No logging, no metrics, no limits, no failover: what any Python proxy
on this stack pays at least. `bench/gateway.py` runs it next to the gateway.

    REFERENCE_LEGACY_URL=... REFERENCE_CANARY_URL=... uvicorn bench.reference_proxy:app
"""

from __future__ import annotations

import hashlib
import os

import aiohttp
from yarl import URL

from common.asgi import Receive, Scope, Send

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
              b"proxy-authorization", b"proxy-authenticate"}  # fmt: skip
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length"}  # aiohttp sets these itself


class ReferenceProxy:
    def __init__(self) -> None:
        self.legacy = os.environ.get("REFERENCE_LEGACY_URL", "http://127.0.0.1:8081")
        self.canary = os.environ.get("REFERENCE_CANARY_URL", "http://127.0.0.1:8082")
        self.percent = int(os.environ.get("REFERENCE_CANARY_PERCENT", "10"))
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers, user = [], None
        for name, value in scope["headers"]:
            if name == b"x-user-id":
                user = value
            if name not in NOT_FORWARDED:
                headers.append((name.decode("latin-1"), value.decode("latin-1")))
        bucket = int(hashlib.md5(user).hexdigest()[:8], 16) % 100 if user else 100
        url = (self.canary if bucket < self.percent else self.legacy) + scope["raw_path"].decode()
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        assert self.session is not None
        async with self.session.request(
            scope["method"], URL(url, encoded=True), headers=headers, data=body or None
        ) as response:
            out = [(n.lower(), v) for n, v in response.raw_headers if n.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=256),
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = ReferenceProxy()
