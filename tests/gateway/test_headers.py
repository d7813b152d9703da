"""Header policy: hop-by-hop dropped, forwarded headers set, request id kept or made (pure)."""

from __future__ import annotations

from gateway.headers import client_response_headers, request_id_from, upstream_request_headers


def build(headers, client="10.0.0.7", scheme="https"):
    return upstream_request_headers(headers, client_host=client, scheme=scheme, request_id="rid-1")


def test_end_to_end_headers_pass_and_hop_by_hop_are_dropped():
    out = build(
        [
            (b"host", b"api.example"),
            (b"accept", b"*/*"),
            (b"connection", b"keep-alive, x-private"),
            (b"x-private", b"secret"),
            (b"keep-alive", b"timeout=5"),
            (b"transfer-encoding", b"chunked"),
            (b"te", b"trailers"),
            (b"upgrade", b"h2c"),
            (b"content-length", b"12"),
            (b"x-custom", b"1"),
            (b"x-custom", b"2"),
        ]
    )
    names = [name for name, _ in out]
    assert ("accept", "*/*") in out
    assert [v for n, v in out if n == "x-custom"] == ["1", "2"]
    for dropped in ("connection", "x-private", "keep-alive", "transfer-encoding", "te", "upgrade",
                    "host", "content-length"):  # fmt: skip
        assert dropped not in names


def test_forwarded_headers_are_set():
    out = dict(build([(b"host", b"api.example"), (b"x-forwarded-for", b"1.1.1.1")]))
    assert out["x-forwarded-for"] == "1.1.1.1, 10.0.0.7"
    assert out["x-forwarded-proto"] == "https"
    assert out["x-forwarded-host"] == "api.example"
    assert out["x-request-id"] == "rid-1"


def test_several_x_forwarded_for_lines_are_joined_in_order():
    out = dict(build([(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"2.2.2.2")]))
    assert out["x-forwarded-for"] == "1.1.1.1, 2.2.2.2, 10.0.0.7"


def test_client_supplied_proto_and_request_id_are_replaced_not_duplicated():
    out = build([(b"x-forwarded-proto", b"gopher"), (b"x-request-id", b"abc")])
    assert [v for n, v in out if n == "x-forwarded-proto"] == ["https"]
    assert [v for n, v in out if n == "x-request-id"] == ["rid-1"]


def test_odd_header_bytes_pass_through_losslessly():
    out = dict(build([(b"x-odd", b"caf\xe9 \x80")]))
    assert out["x-odd"].encode("latin-1") == b"caf\xe9 \x80"


def test_request_id_kept_when_sane_else_generated():
    assert request_id_from(b"req-42") == "req-42"
    for bad in (None, b"", b"x" * 500, b"caf\xe9", b"a\x01b"):
        made = request_id_from(bad)
        assert len(made) == 32 and made != request_id_from(bad)


def test_response_headers_drop_hop_by_hop_and_connection_tokens():
    out = client_response_headers(
        [
            (b"Content-Type", b"application/json"),
            (b"Connection", b"keep-alive, x-secret"),
            (b"X-Secret", b"1"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
        ]
    )
    assert out == [
        (b"content-type", b"application/json"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
