"""Raw-socket HTTP/1.1 clients for tests that must send what no well-behaved client library would
(broken chunk sizes, bodies cut short, endless or slow request heads)."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextlib.contextmanager
def connect(url: str, timeout: float = 5.0) -> Iterator[socket.socket]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket times out)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> RawResponse:
    """One response with a Content-Length body (what the gateway and uvicorn send on refusals)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return RawResponse(int(status_line.split()[1]), headers, body[:length])


def exchange(url: str, payload: bytes, timeout: float = 5.0) -> RawResponse:
    """Send `payload` as is on a fresh connection; the answer, read until the server closes."""
    with connect(url, timeout) as sock:
        sock.sendall(payload)
        return parse(read_all(sock))
