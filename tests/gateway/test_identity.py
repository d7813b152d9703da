"""Identity extraction: order, usability, malformed input (pure)."""

from __future__ import annotations

import pytest

from gateway import identity

LIMIT = 128


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"alice", "alice"),
        (b"  alice  ", "alice"),
        ("사용자".encode(), "사용자"),
        (b"", None),
        (b"   ", None),
        (b"\xff\xfe", None),  # invalid UTF-8
        (b"x" * 129, None),  # longer than the services accept
        (None, None),
    ],
)
def test_header(raw, expected):
    assert identity.from_header(raw, LIMIT) == expected


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        (b"user_id=bob", "bob"),
        (b"a=1&user_id=bob&user_id=eve", "bob"),
        (b"user_id=%EC%82%AC", "사"),
        (b"user_id=%FF", None),  # percent-encoded invalid UTF-8
        (b"user_id=", None),
        (b"xuser_id=bob", None),
        (b"", None),
    ],
)
def test_query(qs, expected):
    assert identity.from_query(qs, LIMIT) == expected


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        (b'{"user_id": "carol"}', b"application/json", "carol"),
        (b'{"user_id": "carol"}', b"application/json; charset=utf-8", "carol"),
        (b'{"user_id": "carol"}', b"application/vnd.api+json", "carol"),
        (b'{"user_id": "carol"}', b"text/plain", None),
        (b'{"user_id": "carol"}', None, None),
        (b'{"user_id": 42}', b"application/json", None),
        (b'{"user_id": ["a"]}', b"application/json", None),
        (b'{"user_id": ""}', b"application/json", None),
        (b'{"user_id": "' + b"y" * 10_000 + b'"}', b"application/json", None),
        (b'{"user_id": "carol"', b"application/json", None),  # invalid JSON
        (b'["user_id"]', b"application/json", None),
        (b"\xff\xfe user_id", b"application/json", None),  # invalid UTF-8
        (b"[" * 100_000 + b'"user_id"', b"application/json", None),  # absurd nesting
    ],
)
def test_body(body, ctype, expected):
    assert identity.from_body(body, ctype, LIMIT) == expected
