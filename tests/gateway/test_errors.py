"""gateway/errors.py: the error table, one row per class, each row saying why.

`status` and `code` are what the client sees (`{"error", "code", "request_id"}`); `kind` labels
`gateway_upstream_errors_total`; `reached_upstream` decides failover (DESIGN.md "Proxying": only a
request that never reached the canary may go to legacy, and it still counts as a canary error).
"""

from __future__ import annotations

import pytest

from gateway import errors
from gateway.errors import (
    BodyTooLarge,
    GatewayError,
    UpstreamConnectTimeout,
    UpstreamProtocol,
    UpstreamTimeout,
    UpstreamUnreachable,
)

TABLE = [
    (GatewayError, 502, "gateway_error", "other", True,
     "the base: an unclassified failure may have reached the upstream, so never fail over"),
    (BodyTooLarge, 413, "body_too_large", "body_too_large", True,
     "the gateway's own refusal before an upstream is chosen: never counted, no failover"),
    (UpstreamUnreachable, 502, "upstream_unreachable", "connect", False,
     "connection refused: the upstream never saw the request, so failover is safe"),
    (UpstreamConnectTimeout, 504, "upstream_timeout", "connect_timeout", False,
     "no connection within the connect timeout: nothing was sent, failover is safe"),
    (UpstreamTimeout, 504, "upstream_timeout", "timeout", True,
     "the read deadline passed after the request was sent: it may be acting on it"),
    (UpstreamProtocol, 502, "upstream_protocol_error", "protocol", True,
     "a broken or dropped response: the request was delivered"),
]  # fmt: skip


IDS = [row[0].__name__ for row in TABLE]


@pytest.mark.parametrize(("cls", "status", "code", "kind", "reached", "why"), TABLE, ids=IDS)
def test_error_table(cls, status, code, kind, reached, why):
    err = cls("message for the client")
    assert (err.status, err.code, err.kind, err.reached_upstream) == (status, code, kind, reached)
    assert err.message == str(err) == "message for the client", why


def test_the_table_has_a_row_for_every_error_class():
    def subclasses(cls: type) -> set[type]:
        found = {cls}
        for sub in cls.__subclasses__():
            found |= subclasses(sub)
        return found

    ours = {c for c in subclasses(GatewayError) if c.__module__ == errors.__name__}
    assert ours == {row[0] for row in TABLE}


@pytest.mark.parametrize("row", TABLE[1:], ids=IDS[1:])
def test_the_module_docstring_draws_every_class_with_its_status_and_code(row):
    """httpx's habit: the tree in the docstring is the reference; it must not drift."""
    cls, status, code = row[:3]
    line = next((ln for ln in errors.__doc__.splitlines() if f" {cls.__name__} " in ln), "")
    assert str(status) in line and code in line, f"{cls.__name__} missing from the tree"
