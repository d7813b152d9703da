"""bench/gateway.py's pure parts: reading wrk's report, rotating the order of a round."""

from __future__ import annotations

import pytest

from bench.gateway import Server, WrkResult, parse_wrk, rotated

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18999/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    70.47us  169.69us   3.67ms   98.92%
    Req/Sec    35.28k     1.93k   36.80k    90.91%
  Latency Distribution
     50%   53.00us
     75%   54.00us
     90%   68.00us
     99%    1.20ms
  38488 requests in 1.10s, 6.61MB read
Requests/sec:  34988.74
Transfer/sec:      6.01MB
"""


def test_parse_wrk_reads_requests_rate_and_percentiles_in_ms():
    assert parse_wrk(WRK_OUTPUT) == WrkResult(38488, 34988.74, 0.053, 1.2)


@pytest.mark.parametrize(
    "line", ["  Non-2xx or 3xx responses: 12", "  Socket errors: connect 0, read 3, write 0"]
)
def test_parse_wrk_fails_a_run_with_failed_requests(line):
    with pytest.raises(RuntimeError, match="wrk saw failures"):
        parse_wrk(WRK_OUTPUT.replace("Requests/sec:", line + "\nRequests/sec:"))


def test_each_round_starts_one_server_later():
    servers = [Server(name, "", None) for name in "abc"]
    orders = ["".join(s.name for s in rotated(servers, r)) for r in range(4)]
    assert orders == ["abc", "bca", "cab", "abc"]
