"""`make bench-store`: what the rollout store costs, SQLite against Redis, in the same run.

(a) Flush cost: `append_aggregates` of one realistic second (3 series, each with a latency
    histogram of ~30 buckets and in-flight ages) from N processes (N store objects), repeated;
    wall time and this process's CPU per flush, and for Redis the server's CPU too (INFO cpu).
(b) The store's push: a compare-and-set until another connection's change feed yields it
    (Redis). Then state-change propagation across two real gateway processes
    (`python -m gateway` with the rollout extension) on one store: a verb through A's admin
    API (pause/resume, 50 times), timed from the request until B's `/readyz` shows the new
    version (polled tightly). SQLite is polled by the gateways (<= 0.5 s); Redis pushes when
    the gateway consumes the change feed, else it is polled too.
(c) The gateway's CPU per request with each store (32 connections to a fast upstream, phases
    interleaved, median of `--repeat`): ratio redis/sqlite, target <= 1.05.

Redis: `--redis-url`, else ION_TEST_REDIS_URL, else 127.0.0.1:6379 if it answers, else a
`redis-server` started here on a free port. Each run uses its own key prefix, deleted after.
The last line is machine-readable key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import redis

from bench.gateway import cpu_seconds, drive, free_port, wait_ready
from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState, Status
from rollout.store import RolloutStore, open_store

TOKEN = "bench-store-admin-token"
SERIES = ("legacy", "canary", "baseline")


# (a) flush cost -------------------------------------------------------------------------


def realistic_second(second: int, target: str) -> TargetSecond:
    """~200 requests in a second of one series, latencies spread over 30 buckets."""
    latency = LatencyHistogram()
    for i in range(30):
        latency.counts[LatencyHistogram.index_of(20 * 1.1**i)] = 6 + i % 3
    inflight = LatencyHistogram({LatencyHistogram.index_of(5 + 10 * i): 1 for i in range(5)})
    n = latency.total
    return TargetSecond(second, target, n, 2, n - 10, latency, n + 1, inflight)


def flush_cost(stores: list[RolloutStore], seconds: int, server: Any = None) -> dict[str, float]:
    walls: list[float] = []
    cpu0, server0 = time.process_time(), redis_cpu(server)
    for s in range(1_000_000, 1_000_000 + seconds):
        for store in stores:  # every process flushes the same second
            t0 = time.perf_counter()
            store.append_aggregates([realistic_second(s, name) for name in SERIES])
            walls.append(time.perf_counter() - t0)
    flushes = len(walls)
    cpu = (time.process_time() - cpu0) / flushes
    walls.sort()
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "p99_ms": walls[min(flushes - 1, int(flushes * 0.99))] * 1000,
        "cpu_ms": cpu * 1000,
        "server_cpu_ms": (redis_cpu(server) - server0) / flushes * 1000,
    }


def redis_cpu(client: Any) -> float:
    if client is None:
        return 0.0
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# (b) propagation ----------------------------------------------------------------------------


async def feed_push(writer: RolloutStore, reader: RolloutStore, changes: int) -> list[float]:
    """Seconds from a compare-and-set by `writer` until `reader`'s change feed yields it: the
    store's half of the propagation, without any gateway's loop around it."""
    feed = reader.change_feed()
    if feed is None:
        return []
    arrived: dict[int, float] = {}
    iterator = feed.changes()
    nxt = asyncio.ensure_future(iterator.__anext__())
    version, times = writer.read().version, []
    for i in range(changes + 5):  # the first few until the subscription is live
        t0 = time.perf_counter()
        state = RolloutState(Status.PAUSED if i % 2 else Status.PROGRESSING, 5, 0)
        version = (await asyncio.to_thread(writer.compare_and_set, version, state, [], 0)).version
        while version not in arrived:
            done, _ = await asyncio.wait({nxt}, timeout=2.0)
            if not done:
                break
            arrived[nxt.result()] = time.perf_counter()
            nxt = asyncio.ensure_future(iterator.__anext__())
        if version in arrived and i >= 5:
            times.append(arrived[version] - t0)
        await asyncio.sleep(random.uniform(0, 0.02))
    nxt.cancel()
    await feed.aclose()
    return times


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: str) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)


def gateway_env(port: int, upstream: str, store_url: str, prefix: str) -> dict[str, str]:
    return {
        "GATEWAY_PORT": str(port),
        "GATEWAY_LEGACY_URL": upstream,
        "GATEWAY_CANARY_URL": upstream,
        "GATEWAY_LEGACY_HEALTH_PATH": "/",
        "GATEWAY_CANARY_HEALTH_PATH": "/",
        "GATEWAY_ADMIN_TOKEN": TOKEN,
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "ROLLOUT_STORE_URL": store_url,
        "ROLLOUT_STORE_PREFIX": prefix,
    }


async def routing_version(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(base + "/readyz") as r:
        body = await r.json()
    return int(body["checks"]["routing"]["version"])


async def propagation(a: str, b: str, changes: int) -> list[float]:
    """Seconds from sending each verb to A until B routes with the version it committed."""
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(a + "/admin/rollout", headers=headers) as r:
            status = (await r.json())["state"]
        verbs = ["start"] if status in ("idle", "rolled_back", "completed") else []
        verbs += ["pause", "resume"] * (changes // 2 + 1)
        if status == "paused":
            verbs = verbs[1:]
        for verb in verbs[: changes + 1]:
            # A random phase against the pollers' ticks: changing right after B's poll found
            # the last one would time a whole interval every time.
            await asyncio.sleep(random.uniform(0, 0.5))
            t0 = time.perf_counter()
            async with session.post(f"{a}/admin/rollout/{verb}", headers=headers, data="{}") as r:
                doc = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"{verb}: {r.status} {doc}")
            version = int(doc["version"])
            deadline = time.monotonic() + 10
            while await routing_version(session, b) < version:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"B never saw version {version}")
            times.append(time.perf_counter() - t0)
    return times[1:]  # the first (start) warms both up


async def cpu_phases(
    gateways: dict[str, tuple[str, int]], seconds: float, repeat: int
) -> dict[str, float]:
    for base, _ in gateways.values():
        await drive(base + "/chat", 8, 1.0)  # warm-up
    runs: dict[str, list[float]] = {name: [] for name in gateways}
    for _ in range(repeat):  # interleaved: a noisy moment hits both stores alike
        for name, (base, pid) in gateways.items():
            cpu0 = cpu_seconds(pid)
            result = await drive(base + "/chat", 32, seconds)
            runs[name].append((cpu_seconds(pid) - cpu0) / result["requests"] * 1e6)
    return {name: statistics.median(values) for name, values in runs.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# the run --------------------------------------------------------------------------------


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@contextlib.contextmanager
def some_redis(url: str | None) -> Iterator[str]:
    url = url or os.environ.get("ION_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    if answers(url):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(
            "no Redis answers and redis-server is not installed (apt-get install redis-server)"
        )
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not answers(url):
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--processes", type=int, default=4, help="writers per flushed second")
    parser.add_argument("--flush-seconds", type=int, default=200, help="seconds flushed per store")
    parser.add_argument("--changes", type=int, default=50, help="state changes timed per store")
    parser.add_argument("--seconds", type=float, default=4.0, help="per CPU phase")
    parser.add_argument("--repeat", type=int, default=3, help="CPU phases per store (median)")
    args = parser.parse_args(argv)
    prefix = f"ion-bench:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as tmp, some_redis(args.redis_url) as redis_url:
        urls = {"sqlite": f"sqlite:///{tmp}/rollout.db", "redis": redis_url}
        client = redis.Redis.from_url(redis_url)
        try:
            figures = run(args, urls, prefix, tmp, client)
        finally:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


def run(
    args: argparse.Namespace, urls: dict[str, str], prefix: str, tmp: str, client: Any
) -> dict[str, Any]:
    figures: dict[str, Any] = {"processes": args.processes}  # flush_*: one process's second
    for name, url in urls.items():
        stores = [open_store(url, prefix=f"{prefix}flush:") for _ in range(args.processes)]
        cost = flush_cost(stores, args.flush_seconds, client if name == "redis" else None)
        for store in stores:
            store.close()
        print(f"flush {name:6} {args.processes} processes x 3 series:"
              f" median {cost['wall_ms']:.2f} ms  p99 {cost['p99_ms']:.2f} ms"
              f"  client CPU {cost['cpu_ms']:.2f} ms"
              f"  server CPU {cost['server_cpu_ms']:.2f} ms per flush")  # fmt: skip
        figures[f"flush_ms_{name}"] = round(cost["wall_ms"], 3)
        figures[f"flush_cpu_ms_{name}"] = round(cost["cpu_ms"] + cost["server_cpu_ms"], 3)
    writer, reader = (open_store(urls["redis"], prefix=f"{prefix}feed:") for _ in range(2))
    push = asyncio.run(feed_push(writer, reader, args.changes))
    writer.close()
    reader.close()
    p50, p99 = percentile(push, 0.5) * 1000, percentile(push, 0.99) * 1000
    print(f"redis store push (CAS -> another connection's feed) over {len(push)} changes:"
          f" p50 {p50:.2f} ms  p99 {p99:.2f} ms")  # fmt: skip
    figures["store_push_p50_ms_redis"] = round(p50, 2)
    figures["store_push_p99_ms_redis"] = round(p99, 2)
    py = sys.executable
    up_port = free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    up_cmd = [py, "-m", "uvicorn", "bench.gateway:fast_upstream", "--port", str(up_port),
              "--loop", "uvloop", "--http", "httptools", "--no-access-log",
              "--log-level", "warning"]  # fmt: skip
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(up_cmd, {}, f"{tmp}/upstream.log"))
        asyncio.run(wait_ready(upstream + "/"))
        pairs: dict[str, list[tuple[str, int]]] = {}
        for name, url in urls.items():
            pairs[name] = []
            for side in "ab":
                port = free_port()
                env = gateway_env(port, upstream, url, f"{prefix}{name}:")
                proc = stack.enter_context(
                    process([py, "-m", "gateway"], env, f"{tmp}/{name}-{side}.log")
                )
                pairs[name].append((f"http://127.0.0.1:{port}", proc.pid))
        for pair in pairs.values():
            for base, _ in pair:
                asyncio.run(wait_ready(base + "/healthz"))
        for name, ((a, _), (b, _)) in pairs.items():
            times = asyncio.run(propagation(a, b, args.changes))
            p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
            print(f"propagation {name:6} over {len(times)} changes:"
                  f" p50 {p50:.1f} ms  p99 {p99:.1f} ms")  # fmt: skip
            figures[f"propagation_p50_ms_{name}"] = round(p50, 1)
            figures[f"propagation_p99_ms_{name}"] = round(p99, 1)
        cpu = asyncio.run(
            cpu_phases({n: p[0] for n, p in pairs.items()}, args.seconds, args.repeat)
        )
        for name, us in cpu.items():
            print(f"gateway CPU per request, {name} store: {us:.0f} us (median of {args.repeat})")
            figures[f"cpu_us_per_req_{name}"] = round(us, 1)
        figures["cpu_ratio_redis_over_sqlite"] = round(cpu["redis"] / cpu["sqlite"], 3)
    return figures


if __name__ == "__main__":
    main()
