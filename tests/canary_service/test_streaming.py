"""SSE through a real server: events in order, and the first event arrives before the answer
exists (the model is held on a gate until the test has seen `stream_start`)."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx

from canary_service.streaming import split_chunks, sse_event
from tests.canary_service.conftest import SMOKE_BODY, running


class GatedModel:
    """Answers only once the test opens the gate: proves events are flushed as produced."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.gate = threading.Event()

    async def generate(self, prompt: str) -> str:
        opened = await asyncio.to_thread(self.gate.wait, 10)
        assert opened, "test never opened the gate"
        return self.text


def parse(lines: list[str]) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def read_event(lines_iter) -> tuple[str, dict]:
    block = []
    for line in lines_iter:
        if not line:
            break
        block.append(line)
    return parse(block)[0]


def test_first_event_arrives_before_the_answer_exists() -> None:
    model = GatedModel("가나다라마바사아자차카타파하" * 3)
    with (
        running(model=model, stream_chunk_chars=10) as url,
        httpx.stream("POST", f"{url}/chat/stream", json=SMOKE_BODY, timeout=10) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = read_event(lines)
        assert not model.gate.is_set()
        model.gate.set()
        rest = parse(list(lines))
    assert first == ("stream_start", {"persona": first[1]["persona"]})
    assert first[1]["persona"]["key"] == "pen"
    names = [name for name, _ in rest]
    assert names == ["chunk"] * 5 + ["stream_end"]
    assert "".join(data["content"] for _, data in rest[:-1]) == model.text
    assert [data["index"] for _, data in rest[:-1]] == list(range(5))
    assert rest[-1][1] == {"success": True, "chunks": 5, "sources": ["Google AI Studio"]}


def test_stream_validates_like_chat() -> None:
    with running() as url:
        response = httpx.post(f"{url}/chat/stream", json={"message": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "user_id"]


def test_split_chunks_by_characters() -> None:
    assert split_chunks("가나다라마", 2) == ["가나", "다라", "마"]
    assert split_chunks("", 3) == [""]


def test_sse_event_is_one_data_line() -> None:
    frame = sse_event("chunk", {"content": "줄\n바꿈"})
    assert frame == 'event: chunk\ndata: {"content": "줄\\n바꿈"}\n\n'
