"""common/logging.py: LineBuffer, the batched JSON-lines writer of the gateway's access log."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from select import PIPE_BUF

import pytest

from common.logging import LineBuffer, iso_now


class Writes:
    """A text stream that keeps every write it is given, as one string each."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[dict]:
        return [json.loads(line) for text in self.writes for line in text.splitlines()]


def test_without_an_event_loop_a_line_is_written_at_once():
    stream = Writes()
    LineBuffer(stream).write({"event": "x", "n": 1})
    assert stream.writes == ['{"event":"x","n":1}\n']


@pytest.mark.anyio
async def test_lines_wait_for_the_flush_interval_then_go_out_together_in_order():
    stream = Writes()
    buffer = LineBuffer(stream, flush_interval_seconds=0.05)
    for n in range(3):
        buffer.write({"n": n})
    assert stream.writes == []  # batched
    deadline = asyncio.get_running_loop().time() + 5
    while not stream.writes and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert stream.writes == ['{"n":0}\n{"n":1}\n{"n":2}\n']


@pytest.mark.anyio
async def test_close_writes_what_waits_and_a_full_batch_goes_at_once():
    stream = Writes()
    buffer = LineBuffer(stream, flush_interval_seconds=60, max_lines=4)
    for n in range(5):
        buffer.write({"n": n})
    assert [line["n"] for line in stream.lines()] == [0, 1, 2, 3]  # the full batch
    buffer.close()
    assert [line["n"] for line in stream.lines()] == [0, 1, 2, 3, 4]


def test_each_write_holds_whole_lines_within_pipe_buf_so_workers_never_interleave():
    stream = Writes()
    buffer = LineBuffer(stream, max_lines=1000)
    lines = [{"n": n, "pad": "x" * 300} for n in range(100)] + [{"n": 100, "pad": "y" * 9000}]
    buffer._lines = [json.dumps(line, separators=(",", ":")).encode() for line in lines]  # by hand
    buffer.flush()
    assert len(stream.writes) > 1
    for text in stream.writes:
        assert text.endswith("\n")
        assert len(text.encode()) <= PIPE_BUF or text.count("\n") == 1  # a long line alone
    assert stream.lines() == lines


def test_timestamps_have_structlogs_iso_utc_shape():
    stamp = iso_now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
    parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(tz=datetime.UTC) - parsed).total_seconds()) < 60
