"""Find the user id of a request: header `X-User-Id`, then query `user_id`, then JSON body field
`user_id` (DESIGN.md "Routing"; first usable one wins, the order is configurable).

Pure functions over raw ASGI pieces. An identity is usable when it is a string that, stripped, is
non-empty, at most `max_length` characters and valid UTF-8 (header bytes are decoded strictly).
Anything else (a number, a 10 kB string, invalid UTF-8, an unparsable body) is treated as no
identity: the request still routes, to legacy, and the upstream judges the request itself.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

FIELD = "user_id"


def usable(value: object, max_length: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > max_length:
        return None
    return value


def from_header(raw: bytes | None, max_length: int) -> str | None:
    if raw is None:
        return None
    try:
        return usable(raw.decode("utf-8"), max_length)
    except UnicodeDecodeError:
        return None


def from_query(query_string: bytes, max_length: int) -> str | None:
    if not query_string or b"user_id=" not in query_string:
        return None
    try:
        pairs = parse_qsl(query_string.decode("ascii"), errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    for key, value in pairs:
        if key == FIELD:
            return usable(value, max_length)
    return None


def is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def from_body(body: bytes, content_type: bytes | None, max_length: int) -> str | None:
    if not body or not is_json(content_type) or b"user_id" not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    return usable(data.get(FIELD), max_length)
