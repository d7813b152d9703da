"""`make bench`: what the gateway costs, next to a direct call and a bare Python proxy, same run.

Starts, as subprocesses on loopback: a fast upstream (raw ASGI on uvicorn + uvloop + httptools),
the bare reference proxy (`bench/reference_proxy.py`: the yardstick, ~60 lines, no logging, no
metrics), the gateway as it ships (one worker, access log on and written to a file, metrics,
aggregates flushed to a SQLite rollout store, its controller judging; the rollout started and
advanced to 10 %) and the same gateway with `GATEWAY_WORKERS=2`. Then `wrk`
drives each: 32 connections for throughput and tail latency, 1 connection for the added median
latency over a direct call. Every round runs every scenario once, in an order rotated from the
previous round, so a noisy moment on a shared 2-core machine hits all sides alike; the median
over `--rounds` is reported. CPU per request is the server's own user + system time
(`/proc/<pid>/stat`, its worker processes included) over the phase, divided by the requests
wrk completed.

The last line is machine-readable, `key=value` pairs: `rps_direct= rps_reference= rps_gateway=
ratio=` (gateway / direct) `ratio_vs_reference= cpu_us_per_req= cpu_us_reference=
cpu_ratio_vs_reference= added_p50_ms= added_p50_ms_reference= p99_over_p50=
p99_over_p50_reference= rps_gateway_2_workers= workers_2_ratio=`.

wrk is a Debian package; when it is missing the bench installs it with apt-get (as root), or
stops with a message saying how.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from common.asgi import Receive, Scope, Send

BENCH_TOKEN = "bench-admin-token-0123456789"
ROLLOUT_STAGES = (5, 10, 25, 50, 100)  # the default plan's stages (rollout.plan)
UPSTREAM_BODY = b'{"content":"ok","persona_used":"Elro","confidence":1.0}'
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = '{"message":"hello","user_id":"bench-user"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-User-Id"] = "bench-user"
"""
C_MANY, C_ONE = 32, 1


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
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system time of `pid` and its live descendants (uvicorn's worker processes)."""
    total = 0
    for one in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk not found: installing it (apt-get install -y wrk)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
        if shutil.which("wrk") is None:
            subprocess.run(["apt-get", "update"], check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
        found = shutil.which("wrk")
    if not found:
        sys.exit("make bench needs wrk: `sudo apt-get install -y wrk` (Debian/Ubuntu), "
                 "`brew install wrk` (macOS), or build it from github.com/wg/wrk")  # fmt: skip
    return found


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(output: str) -> WrkResult:
    """The figures of `wrk --latency` output; a non-2xx answer or a socket error fails the run."""
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", output)
    if bad:
        raise RuntimeError(f"wrk saw failures: {bad.group(0)}")

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no {percent}% latency in wrk output:\n{output}")
        return float(found.group(1)) * _UNITS_MS[found.group(2)]

    requests = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if requests is None or rps is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return WrkResult(int(requests.group(1)), float(rps.group(1)), latency("50"), latency("99"))


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    url: str
    pid: int | None  # CPU is measured for servers with a pid


def run_wrk(wrk: str, script: str, server: Server, connections: int, seconds: float) -> dict:
    cpu0 = cpu_seconds(server.pid) if server.pid else 0.0
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", script,
         server.url + "/chat"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cpu = cpu_seconds(server.pid) - cpu0 if server.pid else 0.0
    result = parse_wrk(out)
    return {"rps": result.rps, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
            "cpu_us": cpu / max(result.requests, 1) * 1e6}  # fmt: skip


@contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)
        if log:
            out.close()  # type: ignore[union-attr]


async def wait_ready(url: str, timeout: float = 30.0) -> None:
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


def shipped_source(tmp: str, name: str, percent: int) -> dict[str, str]:
    """The gateway as `make run` ships it: the percent from a SQLite rollout store, aggregates
    flushed every second, the controller judging. A percent that is not a stage of the default
    plan selects a static source instead (no aggregates: nothing reads them)."""
    if percent not in ROLLOUT_STAGES:
        return {"GATEWAY_PERCENT_SOURCE": "static", "GATEWAY_CANARY_PERCENT": str(percent)}
    return {"GATEWAY_PERCENT_SOURCE": "store", "ROLLOUT_STORE_URL": f"sqlite:///{tmp}/{name}.db"}


async def reach_percent(base: str, percent: int) -> None:
    """Start the rollout and advance it until the store routes `percent` (store source only)."""
    headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        if percent not in ROLLOUT_STAGES:
            return  # a static source: nothing to move
        for verb in ("start", *("advance" for s in ROLLOUT_STAGES if s < percent)):
            async with session.post(f"{base}/admin/rollout/{verb}", json={}) as r:
                if r.status != 200:
                    raise RuntimeError(f"{verb}: {r.status} {await r.text()}")
                body = await r.json()
        if body["percent"] != percent:
            raise RuntimeError(f"the rollout routes {body['percent']} %, not {percent} %")


def rotated(items: list[Server], by: int) -> list[Server]:
    by %= len(items)
    return items[by:] + items[:by]


def measure(wrk: str, script: str, servers: dict[str, Server], args: argparse.Namespace) -> dict:
    many = list(servers.values())
    one = [servers[k] for k in ("direct", "reference", "gateway")]
    for server in many:  # warm-up: connections, caches, the JIT-less interpreter's first calls
        run_wrk(wrk, script, server, 8, 1)
    runs: dict[tuple[str, int], list[dict]] = {}
    for r in range(args.rounds):
        for server in rotated(many, r):
            runs.setdefault((server.name, C_MANY), []).append(
                run_wrk(wrk, script, server, C_MANY, args.seconds)
            )
        for server in rotated(one, r):
            runs.setdefault((server.name, C_ONE), []).append(
                run_wrk(wrk, script, server, C_ONE, args.seconds_c1)
            )
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    return {key: {f: statistics.median(run[f] for run in rs) for f in rs[0]}
            for key, rs in runs.items()}  # fmt: skip


def report(med: dict, rounds: int) -> dict[str, float]:
    d1 = med[("direct", C_ONE)]["p50_ms"]
    print(f"median of {rounds} interleaved rounds, wrk -t1, loopback; "
          f"CPU = the server's own user+system time / requests")  # fmt: skip
    print("| | req/s @c32 | CPU µs / request | added p50 @c1 | p99/p50 @c32 |")
    print("|---|---|---|---|---|")
    labels = {"direct": "direct to the upstream", "reference": "bare reference proxy",
              "gateway": "ion-canary gateway, access log on",
              "gateway_2_workers": "gateway, GATEWAY_WORKERS=2"}  # fmt: skip
    for name, label in labels.items():
        m = med[(name, C_MANY)]
        cpu = f"{m['cpu_us']:.0f}" if name != "direct" else "-"
        added = f"+{med[(name, C_ONE)]['p50_ms'] - d1:.2f} ms" if (name, C_ONE) in med else "-"
        print(f"| {label} | {m['rps']:,.0f} | {cpu} | {added} | {m['p99_ms'] / m['p50_ms']:.1f} |")
    g, ref, d = med[("gateway", C_MANY)], med[("reference", C_MANY)], med[("direct", C_MANY)]
    g2 = med[("gateway_2_workers", C_MANY)]
    return {
        "rps_direct": round(d["rps"]),
        "rps_reference": round(ref["rps"]),
        "rps_gateway": round(g["rps"]),
        "ratio": round(g["rps"] / d["rps"], 3),
        "ratio_vs_reference": round(g["rps"] / ref["rps"], 3),
        "cpu_us_per_req": round(g["cpu_us"], 1),
        "cpu_us_reference": round(ref["cpu_us"], 1),
        "cpu_ratio_vs_reference": round(g["cpu_us"] / ref["cpu_us"], 3),
        "added_p50_ms": round(med[("gateway", C_ONE)]["p50_ms"] - d1, 3),
        "added_p50_ms_reference": round(med[("reference", C_ONE)]["p50_ms"] - d1, 3),
        "p99_over_p50": round(g["p99_ms"] / g["p50_ms"], 2),
        "p99_over_p50_reference": round(ref["p99_ms"] / ref["p50_ms"], 2),
        "rps_gateway_2_workers": round(g2["rps"]),
        "workers_2_ratio": round(g2["rps"] / g["rps"], 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="per phase at 32 connections")
    parser.add_argument("--seconds-c1", type=int, default=4, help="per phase at 1 connection")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--percent", type=int, default=10, help="static canary percent")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    ports = {name: free_port() for name in ("direct", "reference", "gateway", "gateway_2_workers")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    py = sys.executable
    up_cmd = [py, "-m", "uvicorn", "bench.gateway:fast_upstream", "--port", str(ports["direct"]),
              "--loop", "uvloop", "--http", "httptools", "--no-access-log",
              "--log-level", "warning"]  # fmt: skip
    ref_cmd = [*up_cmd[:3], "bench.reference_proxy:app", *up_cmd[4:]]
    ref_cmd[ref_cmd.index("--port") + 1] = str(ports["reference"])
    ref_env = {"REFERENCE_LEGACY_URL": url["direct"], "REFERENCE_CANARY_URL": url["direct"],
               "REFERENCE_CANARY_PERCENT": str(args.percent)}  # fmt: skip
    gw_env = {"GATEWAY_LEGACY_URL": url["direct"], "GATEWAY_CANARY_URL": url["direct"],
              "GATEWAY_LEGACY_HEALTH_PATH": "/", "GATEWAY_CANARY_HEALTH_PATH": "/",
              "GATEWAY_ACCESS_LOG": "true", "GATEWAY_ADMIN_TOKEN": BENCH_TOKEN}  # fmt: skip
    gw_cmd = [py, "-m", "gateway"]
    tmp = tempfile.mkdtemp(prefix="ion-bench-")
    with (
        process(up_cmd, {}),
        process(ref_cmd, ref_env) as ref,
        process(gw_cmd, {**gw_env, "GATEWAY_PORT": str(ports["gateway"]),
                         **shipped_source(tmp, "gateway", args.percent)},
                Path(tmp) / "gateway.log") as gw,
        process(gw_cmd, {**gw_env, "GATEWAY_PORT": str(ports["gateway_2_workers"]),
                         "GATEWAY_WORKERS": "2",
                         **shipped_source(tmp, "gateway2", args.percent)},
                Path(tmp) / "gateway2.log") as gw2,
    ):  # fmt: skip
        for name in ports:
            asyncio.run(wait_ready(url[name] + ("/readyz" if "gateway" in name else "/")))
        for name in ("gateway", "gateway_2_workers"):
            asyncio.run(reach_percent(url[name], args.percent))
        script = str(Path(tmp) / "post.lua")
        Path(script).write_text(WRK_SCRIPT)
        pids = {"direct": None, "reference": ref.pid, "gateway": gw.pid,
                "gateway_2_workers": gw2.pid}  # fmt: skip
        servers = {name: Server(name, url[name], pids[name]) for name in ports}
        figures = report(measure(wrk, script, servers, args), args.rounds)
    shutil.rmtree(tmp, ignore_errors=True)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
