"""The ASGI vocabulary, typed once for every module that speaks raw ASGI (starlette's `types.py`).

The aliases have exactly starlette's shapes, so a starlette or FastAPI app is an `ASGIApp` here
and our plain ASGI classes can be mounted or wrapped by theirs without casts. Messages stay
mappings of `Any`: the ASGI spec's message shapes differ per `type`, and the hot path reads them
by key, so a `TypedDict` per message would cost annotations without catching a real mistake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]

Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]

ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

Headers: TypeAlias = list[tuple[bytes, bytes]]
"""Raw header pairs as ASGI carries them: lower-cased names, latin-1 bytes."""
