"""`make bench-hostile`: what hostile clients cost a running gateway (memory, file descriptors).

Starts the fast upstream and `python -m gateway` as `make bench` does, then runs one attack on raw
sockets while sampling the gateway's resident memory (/proc/<pid>/status VmRSS) and open file
descriptors (/proc/<pid>/fd):

- `heads`: `--connections` clients each stream an endless header block at `--rate` bytes/s;
- `slow`: `--connections` clients each send a request head at one byte per second.

Each client reconnects as soon as the gateway cuts it, so the attack is sustained. It reports
the peak growth over the idle baseline, how many connections the gateway cut, and how long the
longest lasted. Extra `GATEWAY_*` variables pass through (`--env GATEWAY_X=1`), so the
same run can be compared with limits on and off. The last line is machine-readable:
`attack= connections= seconds= rss_growth_mib= fds_before= fds_peak= cut=`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable

from bench.gateway import free_port, process, wait_ready

SLOW_HEAD = b"GET /slow-head HTTP/1.1\r\nHost: gateway\r\nX-User-Id: hostile\r\n\r\n"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def stream_headers(port: int, rate: int, until: float, cuts: list[float]) -> bool:
    """One connection: a request line, then one header that never ends, `rate` bytes per second.
    True if the gateway cut it before `until`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: gateway\r\nX-Endless: ")
    chunk = b"a" * (rate // 10)
    try:
        while time.monotonic() < until:
            writer.write(chunk)
            await writer.drain()
            if await _answered(reader):
                break
            await asyncio.sleep(0.1)
        else:
            return False
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    cuts.append(time.monotonic() - started)
    return True


async def slow_head(port: int, until: float, cuts: list[float]) -> bool:
    """One connection: a small request head, one byte per second. True if the gateway cut it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        for byte in SLOW_HEAD:
            if time.monotonic() >= until:
                return False
            writer.write(bytes([byte]))
            await writer.drain()
            if await _answered(reader, wait=1.0):
                break
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    cuts.append(time.monotonic() - started)
    return True


async def client(attack: Callable[[], Awaitable[bool]], until: float) -> None:
    """An attacker that reconnects as soon as the gateway cuts it, until the deadline."""
    while time.monotonic() < until and await attack():
        pass


async def _answered(reader: asyncio.StreamReader, wait: float = 0.0) -> bool:
    """True once the gateway has answered or hung up (the attack on this connection is over)."""
    try:
        data = await asyncio.wait_for(reader.read(65536), timeout=wait or 0.001)
    except TimeoutError:
        return False
    return data == b"" or data.startswith(b"HTTP/")


async def attack(args: argparse.Namespace, port: int, pid: int) -> dict[str, object]:
    rss0, fds0 = rss_mib(pid), open_fds(pid)
    until = time.monotonic() + args.seconds
    cuts: list[float] = []
    if args.attack == "heads":
        attack_once = functools.partial(stream_headers, port, args.rate, until, cuts)
    else:
        attack_once = functools.partial(slow_head, port, until, cuts)
    tasks = [asyncio.create_task(client(attack_once, until)) for _ in range(args.connections)]
    peak_rss, peak_fds = rss0, fds0
    while not all(t.done() for t in tasks):
        peak_rss, peak_fds = max(peak_rss, rss_mib(pid)), max(peak_fds, open_fds(pid))
        await asyncio.sleep(0.2)
    await asyncio.gather(*tasks, return_exceptions=True)
    longest = max(cuts, default=0.0)
    print(f"{args.attack}: {args.connections} reconnecting clients for {args.seconds} s; the "
          f"gateway cut {len(cuts)} connections (longest lasted {longest:.1f} s); "
          f"RSS {rss0:.0f} -> peak {peak_rss:.0f} MiB; fds {fds0} -> peak {peak_fds}")  # fmt: skip
    return {
        "attack": args.attack,
        "connections": args.connections,
        "seconds": args.seconds,
        "rss_growth_mib": round(peak_rss - rss0, 1),
        "fds_before": fds0,
        "fds_peak": peak_fds,
        "cut": len(cuts),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attack", choices=["heads", "slow"])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--rate", type=int, default=1024 * 1024, help="heads: bytes/s each")
    parser.add_argument("--env", action="append", default=[], help="extra GATEWAY_X=value")
    args = parser.parse_args(argv)
    up_port, gw_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    py = sys.executable
    up_cmd = [py, "-m", "uvicorn", "bench.gateway:fast_upstream", "--port", str(up_port),
              "--loop", "uvloop", "--http", "httptools", "--no-access-log",
              "--log-level", "warning"]  # fmt: skip
    gw_env = {"GATEWAY_PORT": str(gw_port), "GATEWAY_LEGACY_URL": upstream,
              "GATEWAY_CANARY_URL": upstream, "GATEWAY_PERCENT_SOURCE": "static",
              "GATEWAY_LEGACY_HEALTH_PATH": "/", "GATEWAY_CANARY_HEALTH_PATH": "/",
              **dict(item.split("=", 1) for item in args.env)}  # fmt: skip
    with process(up_cmd, {}), process([py, "-m", "gateway"], gw_env) as gw:
        asyncio.run(wait_ready(upstream + "/"))
        asyncio.run(wait_ready(f"http://127.0.0.1:{gw_port}/readyz"))
        figures = asyncio.run(attack(args, gw_port, gw.pid))
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
