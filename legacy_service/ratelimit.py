"""Per-client rate limit (ION_SPEC §1.6: 30/minute on `/chat` and `/health`) and client address.

The original used slowapi keyed on the peer address; behind the gateway every peer is the
gateway, so `client_ip` walks `X-Forwarded-For` from the right past trusted proxies and the limit
stays per end user. A fixed window per key (slowapi's default strategy), no extra dependency.
The canary reuses `RateLimitMiddleware` with its own settings.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from common.asgi import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNITS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)s?\s*$", re.IGNORECASE)
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")
DEFAULT_LIMITED_PATHS = frozenset({"/chat", "/health"})


@dataclass(frozen=True)
class RateRule:
    limit: int
    unit: str
    period_seconds: int

    def describe(self) -> str:
        """slowapi's wording, which clients saw in the 429 body: `30 per 1 minute`."""
        return f"{self.limit} per 1 {self.unit}"


def parse_rate(text: str) -> RateRule:
    """Parse "N/second|minute|hour"; ValueError otherwise (settings name the variable)."""
    match = _RATE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"rate limit must look like '30/minute' (N/second|minute|hour), got {text!r}"
        )
    unit = match.group(2).lower()
    return RateRule(limit=int(match.group(1)), unit=unit, period_seconds=_UNITS[unit])


@dataclass(frozen=True)
class Window:
    started_at: float
    count: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_seconds: int


def decide(window: Window | None, now: float, rule: RateRule) -> tuple[Window, RateDecision]:
    """Pure fixed-window step: the window opens at a key's first hit and lasts one period."""
    if window is None or now >= window.started_at + rule.period_seconds:
        window = Window(started_at=now, count=0)
    retry_after = max(1, math.ceil(window.started_at + rule.period_seconds - now))
    if window.count >= rule.limit:
        return window, RateDecision(False, 0, retry_after)
    window = Window(window.started_at, window.count + 1)
    return window, RateDecision(True, rule.limit - window.count, retry_after)


class RateLimiter:
    """In-process windows per key; expired windows are swept so memory stays bounded."""

    def __init__(
        self, rule: RateRule, clock: Callable[[], float] = time.monotonic, sweep_at: int = 10_000
    ) -> None:
        self.rule = rule
        self.clock = clock
        self.sweep_at = sweep_at
        self._windows: dict[str, Window] = {}

    def hit(self, key: str) -> RateDecision:
        now = self.clock()
        if len(self._windows) >= self.sweep_at:
            self._sweep(now)
        window, decision = decide(self._windows.get(key), now, self.rule)
        self._windows[key] = window
        return decision

    def _sweep(self, now: float) -> None:
        period = self.rule.period_seconds
        self._windows = {key: w for key, w in self._windows.items() if now < w.started_at + period}


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """IPs or CIDRs; ValueError names the bad entry."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Collection[IPNetwork]) -> bool:
    ip = _parse_ip(address)
    return ip is not None and any(ip in network for network in trusted)


def _forwarded_for(scope: Scope) -> list[str]:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    return [part.strip() for part in ",".join(values).split(",") if part.strip()]


def client_ip(scope_or_request: Any, trusted_proxies: Collection[IPNetwork]) -> str:
    """The nearest address not in `trusted_proxies`: the peer itself unless the peer is trusted,
    else X-Forwarded-For from the right. Entries left of the first untrusted one are the client's
    own claims and never used; an unparsable entry stops the walk at the last verified hop."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    client = scope.get("client")
    nearest = client[0] if client else "unknown"
    if not _is_trusted(nearest, trusted_proxies):
        return nearest
    for hop in reversed(_forwarded_for(scope)):
        if _parse_ip(hop) is None:
            return nearest
        nearest = hop
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return nearest


class RateLimitMiddleware:
    """Plain ASGI: counts requests to `paths` per client address, answers 429 past the limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        trusted_proxies: Collection[IPNetwork],
        paths: Collection[str] = DEFAULT_LIMITED_PATHS,
        on_reject: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.trusted_proxies = tuple(trusted_proxies)
        self.paths = frozenset(paths)
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.trusted_proxies)
        decision = self.limiter.hit(ip)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        if self.on_reject is not None:
            self.on_reject(ip, scope["path"])
        await self._reject(send, decision)

    def _applies(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope.get("method") != "OPTIONS"
            and scope.get("path") in self.paths
        )

    async def _reject(self, send: Send, decision: RateDecision) -> None:
        body = json.dumps({"error": f"Rate limit exceeded: {self.limiter.rule.describe()}"}).encode(
            "utf-8"
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(decision.retry_after_seconds).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
