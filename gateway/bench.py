"""`make bench`: what the gateway costs, measured against a direct call in the same run.

Starts a fast upstream (raw ASGI on uvicorn + uvloop + httptools) and the gateway (one worker,
access log on, written to /dev/null) as subprocesses on loopback, then drives the same load at
the upstream directly and through the gateway: 32 connections for throughput and tail latency,
1 connection for the added median latency. The gateway's CPU per request comes from
/proc/<pid>/stat (user + system time) over the measured phase.

The last line is machine-readable:
`rps_direct= rps_gateway= ratio= cpu_us_per_req= added_p50_ms= p99_over_p50=`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import closing, contextmanager

import aiohttp

UPSTREAM_BODY = b'{"content":"ok","persona_used":"Elro","confidence":1.0}'


async def fast_upstream(scope, receive, send):  # a minimal ASGI app: the upstream's floor
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(UPSTREAM_BODY)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": UPSTREAM_BODY})


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def process(args: list[str], env: dict[str, str]):
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not become ready")
            await asyncio.sleep(0.1)


async def drive(url: str, connections: int, seconds: float) -> dict[str, float]:
    """Closed-loop load: `connections` workers, each sending the next request on its answer."""
    latencies: list[float] = []
    headers = {"X-User-Id": "bench-user", "content-type": "application/json"}
    body = b'{"message":"hello","user_id":"bench-user"}'
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"unexpected status {r.status}")
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "rps": n / elapsed,
        "p50_ms": latencies[n // 2] * 1000,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000,
    }


async def measure(upstream: str, gateway: str, gw_pid: int, seconds: float) -> dict[str, float]:
    await drive(upstream + "/chat", 8, 1.0)  # warm-up both paths
    await drive(gateway + "/chat", 8, 1.0)
    direct32 = await drive(upstream + "/chat", 32, seconds)
    cpu0 = cpu_seconds(gw_pid)
    gw32 = await drive(gateway + "/chat", 32, seconds)
    cpu_us = (cpu_seconds(gw_pid) - cpu0) / gw32["requests"] * 1e6
    direct1 = await drive(upstream + "/chat", 1, seconds)
    gw1 = await drive(gateway + "/chat", 1, seconds)
    for name, r in (("direct c=32", direct32), ("gateway c=32", gw32),
                    ("direct c=1", direct1), ("gateway c=1", gw1)):  # fmt: skip
        print(f"{name:14} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:7.3f} ms  "
              f"p99 {r['p99_ms']:7.3f} ms  ({r['requests']} requests)")  # fmt: skip
    return {
        "rps_direct": round(direct32["rps"]),
        "rps_gateway": round(gw32["rps"]),
        "ratio": round(gw32["rps"] / direct32["rps"], 3),
        "cpu_us_per_req": round(cpu_us, 1),
        "added_p50_ms": round(gw1["p50_ms"] - direct1["p50_ms"], 3),
        "p99_over_p50": round(gw32["p99_ms"] / gw32["p50_ms"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured phase")
    args = parser.parse_args(argv)
    up_port, gw_port = free_port(), free_port()
    upstream, gateway = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{gw_port}"
    py = sys.executable
    up_cmd = [py, "-m", "uvicorn", "gateway.bench:fast_upstream", "--port", str(up_port),
              "--loop", "uvloop", "--http", "httptools", "--no-access-log",
              "--log-level", "warning"]  # fmt: skip
    gw_env = {"GATEWAY_PORT": str(gw_port), "GATEWAY_LEGACY_URL": upstream,
              "GATEWAY_CANARY_URL": upstream, "GATEWAY_PERCENT_SOURCE": "static",
              "GATEWAY_CANARY_PERCENT": "50", "GATEWAY_LEGACY_HEALTH_PATH": "/",
              "GATEWAY_CANARY_HEALTH_PATH": "/"}  # fmt: skip
    with process(up_cmd, {}), process([py, "-m", "gateway"], gw_env) as gw:
        asyncio.run(wait_ready(upstream + "/"))
        asyncio.run(wait_ready(gateway + "/readyz"))
        figures = asyncio.run(measure(upstream, gateway, gw.pid, args.seconds))
    print("direct vs gateway, one gateway worker, same run, loopback")
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
