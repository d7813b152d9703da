"""`ion-probe` / `make probe`: the original rate-limit probe (ION_SPEC §7.12), for this stack.

Sends N sequential requests per side with a fixed delay, straight to each service and through
the gateway, and reports per side `{requests, success, failed, success_rate, avg_response_ms}`
plus a timestamp. Success means a 2xx answer; a 429 from the services' per-IP limit, any other
status and a transport error count as failed. `success_rate` is a percentage, 100 when nothing
was sent (the original's convention); the average covers every attempt, failed ones included.

Gateway sides pin the user id to one end of the bucket range (bucket 99 stays on legacy below
100%, bucket 0 reaches the canary from 1%) and also count the `X-Canary-Target` header actually
received, so a canary at 0% shows up as `targets: {"legacy": N}` instead of being hidden.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

#: md5[:8] % 100 of these ids is 99 and 0 (DESIGN.md's bucket formula, no salt).
LEGACY_PIN_USER = "probe-legacy-81"
CANARY_PIN_USER = "probe-canary-12"
PROBE_MESSAGE = "Explain AI concepts in a concise style"
SIDES = ("legacy", "canary", "gateway_legacy", "gateway_canary")


@dataclass(frozen=True)
class ProbeTarget:
    """Where one side's requests go and what they carry."""

    url: str
    method: str = "GET"
    user_id: str | None = None
    via_gateway: bool = False

    def request_kwargs(self) -> dict:
        headers = {"X-User-Id": self.user_id} if self.user_id else {}
        body = {"message": PROBE_MESSAGE, "user_id": self.user_id or "probe"}
        return {"headers": headers, "json": body if self.method == "POST" else None}


@dataclass(frozen=True)
class Attempt:
    status: int | None
    elapsed_ms: float
    target: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SideReport:
    attempts: list[Attempt] = field(default_factory=list)

    def as_dict(self, *, with_targets: bool = False) -> dict[str, Any]:
        """The original's per-side shape; gateway sides add the targets actually reached."""
        total = len(self.attempts)
        success = sum(a.ok for a in self.attempts)
        report: dict[str, Any] = {
            "requests": total,
            "success": success,
            "failed": total - success,
            "success_rate": round(success / total * 100, 2) if total else 100.0,
            "avg_response_ms": round(sum(a.elapsed_ms for a in self.attempts) / total, 2)
            if total
            else 0.0,
        }
        statuses = Counter(str(a.status) if a.status else "error" for a in self.attempts)
        report["statuses"] = dict(sorted(statuses.items()))
        if with_targets:
            report["targets"] = dict(Counter(a.target or "none" for a in self.attempts))
        return report


def plan(args: argparse.Namespace, sides: Sequence[str]) -> dict[str, ProbeTarget]:
    """Which URL each requested side hits, from the command-line options."""
    path = "/chat" if args.method == "POST" else "/health"
    direct_user = f"probe-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    targets = {
        "legacy": ProbeTarget(args.legacy_url + path, args.method, direct_user),
        "canary": ProbeTarget(args.canary_url + path, args.method, direct_user),
        "gateway_legacy": ProbeTarget(args.gateway_url + path, args.method, LEGACY_PIN_USER, True),
        "gateway_canary": ProbeTarget(args.gateway_url + path, args.method, CANARY_PIN_USER, True),
    }
    return {side: targets[side] for side in sides}


def send(client: httpx.Client, target: ProbeTarget) -> Attempt:
    started = time.perf_counter()
    try:
        response = client.request(target.method, target.url, **target.request_kwargs())
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return Attempt(None, elapsed, error=f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    return Attempt(response.status_code, elapsed, response.headers.get("x-canary-target"))


def probe_side(
    client: httpx.Client,
    target: ProbeTarget,
    count: int,
    delay_s: float,
    pause: Callable[[float], None] = time.sleep,
) -> SideReport:
    """N sequential requests with `delay_s` between them (none after the last)."""
    report = SideReport()
    for index in range(count):
        if index:
            pause(delay_s)
        report.attempts.append(send(client, target))
    return report


def run_probe(args: argparse.Namespace) -> dict:
    sides = [side.strip() for side in args.sides.split(",") if side.strip()]
    result: dict = {"timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
    with httpx.Client(timeout=args.timeout) as client:
        for side, target in plan(args, sides).items():
            report = probe_side(client, target, args.requests, args.delay_ms / 1000)
            result[side] = report.as_dict(with_targets=target.via_gateway)
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ion-probe", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=10, help="per side (10)")
    parser.add_argument("--delay-ms", type=float, default=500, help="between requests (500)")
    parser.add_argument("--method", choices=("GET", "POST"), default="GET",
                        help="GET /health (default) or POST /chat")  # fmt: skip
    parser.add_argument("--legacy-url", default="http://127.0.0.1:8081")
    parser.add_argument("--canary-url", default="http://127.0.0.1:8082")
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8080")
    parser.add_argument(
        "--sides", default=",".join(SIDES), help="comma list of " + ", ".join(SIDES)
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds (30)")
    parser.add_argument("--out", type=Path, help="also write the JSON report here (UTF-8)")
    args = parser.parse_args(argv)
    unknown = set(args.sides.split(",")) - set(SIDES)
    if unknown or args.requests < 0 or args.delay_ms < 0:
        parser.error(f"bad --sides {sorted(unknown)}" if unknown else "counts must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    text = json.dumps(run_probe(args), ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
