"""`make bench`: what the gateway costs, measured against a direct call in the same run.

Starts a fast upstream (raw ASGI on uvicorn + uvloop + httptools) and the gateway (one worker,
access log on, written to /dev/null) as subprocesses on loopback, then drives the same load at
the upstream directly and through the gateway: 32 connections for throughput and tail latency,
1 connection for the added median latency. The gateway's CPU per request comes from
/proc/<pid>/stat (user + system time) over the measured phase. Each phase runs `--repeat` times,
interleaved direct/gateway, and the median is reported (neighbours on a shared 2-core machine
make single phases swing by ±30 %).

The last line is machine-readable:
`rps_direct= rps_gateway= ratio= cpu_us_per_req= added_p50_ms= p99_over_p50=`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import closing, contextmanager

import aiohttp

from common.asgi import Receive, Scope, Send

UPSTREAM_BODY = b'{"content":"ok","persona_used":"Elro","confidence":1.0}'


async def fast_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    """A minimal ASGI app: the upstream's floor."""
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


async def gateway_phase(url: str, pid: int, connections: int, seconds: float) -> dict[str, float]:
    cpu0 = cpu_seconds(pid)
    result = await drive(url, connections, seconds)
    result["cpu_us"] = (cpu_seconds(pid) - cpu0) / result["requests"] * 1e6
    return result


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-figure median over repeated phases: this machine's neighbours are noisy."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


async def measure(
    upstream: str, gateway: str, gw_pid: int, seconds: float, repeat: int
) -> dict[str, float]:
    await drive(upstream + "/chat", 8, 1.0)  # warm-up both paths
    await drive(gateway + "/chat", 8, 1.0)
    runs: dict[str, list[dict[str, float]]] = {"d32": [], "g32": [], "d1": [], "g1": []}
    for _ in range(repeat):  # interleaved, so a noisy moment hits both sides alike
        runs["d32"].append(await drive(upstream + "/chat", 32, seconds))
        runs["g32"].append(await gateway_phase(gateway + "/chat", gw_pid, 32, seconds))
        runs["d1"].append(await drive(upstream + "/chat", 1, seconds))
        runs["g1"].append(await gateway_phase(gateway + "/chat", gw_pid, 1, seconds))
    d32, g32, d1, g1 = (median_run(runs[k]) for k in ("d32", "g32", "d1", "g1"))
    for name, r in (("direct c=32", d32), ("gateway c=32", g32),
                    ("direct c=1", d1), ("gateway c=1", g1)):  # fmt: skip
        print(f"{name:14} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:7.3f} ms  "
              f"p99 {r['p99_ms']:7.3f} ms  (median of {repeat})")  # fmt: skip
    print(f"gateway CPU per request: {g32['cpu_us']:.0f} us at c=32, {g1['cpu_us']:.0f} us at c=1")
    return {
        "rps_direct": round(d32["rps"]),
        "rps_gateway": round(g32["rps"]),
        "ratio": round(g32["rps"] / d32["rps"], 3),
        "cpu_us_per_req": round(g32["cpu_us"], 1),
        "added_p50_ms": round(g1["p50_ms"] - d1["p50_ms"], 3),
        "p99_over_p50": round(g32["p99_ms"] / g32["p50_ms"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measured phase")
    parser.add_argument("--repeat", type=int, default=3, help="phases per scenario (median)")
    args = parser.parse_args(argv)
    up_port, gw_port = free_port(), free_port()
    upstream, gateway = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{gw_port}"
    py = sys.executable
    up_cmd = [py, "-m", "uvicorn", "bench.gateway:fast_upstream", "--port", str(up_port),
              "--loop", "uvloop", "--http", "httptools", "--no-access-log",
              "--log-level", "warning"]  # fmt: skip
    gw_env = {"GATEWAY_PORT": str(gw_port), "GATEWAY_LEGACY_URL": upstream,
              "GATEWAY_CANARY_URL": upstream, "GATEWAY_PERCENT_SOURCE": "static",
              "GATEWAY_CANARY_PERCENT": "50", "GATEWAY_LEGACY_HEALTH_PATH": "/",
              "GATEWAY_CANARY_HEALTH_PATH": "/"}  # fmt: skip
    with process(up_cmd, {}), process([py, "-m", "gateway"], gw_env) as gw:
        asyncio.run(wait_ready(upstream + "/"))
        asyncio.run(wait_ready(gateway + "/readyz"))
        figures = asyncio.run(measure(upstream, gateway, gw.pid, args.seconds, args.repeat))
    print("direct vs gateway, one gateway worker, same run, loopback")
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
