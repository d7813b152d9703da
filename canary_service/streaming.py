"""Server-sent events for `/chat/stream`: `stream_start`, `chunk`..., `stream_end` (or `error`).

The answer is produced by the same responder as `/chat` and then sent in pieces, each flushed as
it is yielded, with a configurable pause between pieces (`CANARY_STREAM_CHUNK_DELAY_MS`) so a
client, or a test through the gateway, can observe the first event before the stream ends.
Event names follow the Lumen Gateway's `/chat/stream` (§6.4).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from canary_service.lumen import LumenPersona
from canary_service.responder import LumenReply

MEDIA_TYPE = "text/event-stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(event: str, data: dict[str, Any]) -> str:
    """One SSE frame; JSON data on one line, so no payload can break the framing."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def split_chunks(text: str, size: int) -> list[str]:
    """Fixed-size pieces by characters (not bytes), so Korean text never splits mid-character."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


async def sse_stream(
    persona: LumenPersona,
    produce: Callable[[], Awaitable[LumenReply]],
    *,
    chunk_chars: int,
    delay_s: float,
) -> AsyncIterator[str]:
    """Announce the persona at once, then stream the reply; a failed reply ends with `error`."""
    yield sse_event("stream_start", {"persona": persona.as_dict()})
    reply = await produce()
    chunks = split_chunks(reply.text, chunk_chars)
    for index, piece in enumerate(chunks):
        if index:
            await asyncio.sleep(delay_s)
        yield sse_event("chunk", {"index": index, "content": piece})
    if not reply.success:
        yield sse_event("error", {"error": reply.error, "error_type": reply.error_type})
        return
    yield sse_event(
        "stream_end",
        {"success": True, "chunks": len(chunks), "sources": list(reply.sources)},
    )
