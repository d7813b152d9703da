"""Pure routing: bucket a user id, then choose legacy or canary (DESIGN.md "Routing").

`bucket()` is the original runbook's Canary Router formula, byte for byte:
`int(md5(user_id.encode("utf-8")).hexdigest()[:8], 16) % 100`. A rollout may add a salt (hash
input `f"{user_id}:{salt}"`) to pick a different slice of users; the `full` variant hashes the
whole digest like the original in-app router, for teams migrating from it (never the default).

Canary iff `bucket < percent`, so the canary set only grows as the percent grows (monotone).

The baseline (`in_baseline`) is what the rollout judge compares the canary with: legacy requests
routed by the hash at the same time, never overrides or no-identity traffic (those users were
not drawn at random). `all` takes every hash-routed legacy request (most power: at 5 % the
baseline has 19x the canary's traffic); `same_size` only buckets `[p, 2p)`, a cohort as large
as the canary's. Buckets already include the rollout's salt, so both follow it.

`choose()` applies the overrides before the hash, in this order (first match wins):
1. pinned path (a path prefix that only one side can serve),
2. the force header (testers; only when enabled in settings),
3. percent 0 (idle or rolled back): legacy for everyone else, allow list included,
4. deny list -> legacy, 5. allow list -> canary,
6. no usable identity -> legacy, 7. the hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from hashlib import md5


class Target(StrEnum):
    """The two upstreams; the one definition every package imports (values are the wire names:
    `X-Canary-Target`, metric labels, log fields, aggregate rows)."""

    LEGACY = "legacy"
    CANARY = "canary"


class Reason(StrEnum):
    """Why `choose()` picked its target: the `reason` field of the access log."""

    PINNED = "pinned"
    FORCED = "forced"
    ROLLED_OFF = "rolled_off"
    DENY_LIST = "deny_list"
    ALLOW_LIST = "allow_list"
    NO_IDENTITY = "no_identity"
    HASH = "hash"


class Series(StrEnum):
    """The per-second aggregate series (store rows, the `target` label in /metrics): where
    requests went (the `Target` values) and `baseline`, the hash-routed legacy requests the
    rollout judge compares the canary with (`series_of`)."""

    LEGACY = "legacy"
    CANARY = "canary"
    BASELINE = "baseline"


# Module-level names for the members: on Python 3.11 `Target.CANARY` is a class-attribute lookup
# through the enum machinery (~50 ns), and the proxy path compares targets several times a request.
LEGACY, CANARY = Target.LEGACY, Target.CANARY
_BY_NAME: dict[str, Target] = {t.value: t for t in Target}


def bucket(user_id: str, salt: str | None = None, variant: str = "prefix8") -> int:
    key = f"{user_id}:{salt}" if salt else user_id
    digest = md5(key.encode("utf-8")).hexdigest()
    return int(digest if variant == "full" else digest[:8], 16) % 100


def in_canary(bucket_: int, percent: int) -> bool:
    return bucket_ < percent


@dataclass(frozen=True, slots=True)
class Decision:
    target: Target
    reason: Reason
    bucket: int | None = None


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """The settings part of a decision; built once at start-up."""

    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()
    pinned_paths: tuple[tuple[str, Target], ...] = ()  # (prefix, target), longest prefix first
    hash_variant: str = "prefix8"

    @classmethod
    def build(
        cls,
        allow: Iterable[str],
        deny: Iterable[str],
        pinned: Mapping[str, str],
        hash_variant: str,
    ) -> RoutingPolicy:
        by_length = sorted(pinned.items(), key=lambda kv: len(kv[0]), reverse=True)
        ordered = tuple((prefix, Target(target)) for prefix, target in by_length)
        return cls(frozenset(allow), frozenset(deny), ordered, hash_variant)

    def pinned_target(self, path: str) -> Target | None:
        for prefix, target in self.pinned_paths:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return target
        return None


BASELINE_BUCKETS = ("all", "same_size")
_ONLY: dict[Target, tuple[Series, ...]] = {
    Target.LEGACY: (Series.LEGACY,),
    Target.CANARY: (Series.CANARY,),
}
_LEGACY_AND_BASELINE = (Series.LEGACY, Series.BASELINE)


def in_baseline(decision: Decision, percent: int, buckets: str = "all") -> bool:
    """Does this request count in the `baseline` series (besides `legacy`)?"""
    if decision.target != LEGACY or decision.reason != Reason.HASH or decision.bucket is None:
        return False
    return buckets == "all" or percent <= decision.bucket < 2 * percent


def series_of(decision: Decision, percent: int, buckets: str = "all") -> tuple[Series, ...]:
    """The aggregate series a request routed by `decision` counts in (computed once, at
    routing). A failover's legacy leg is not routed by the hash: it counts in `only(LEGACY)`."""
    if in_baseline(decision, percent, buckets):
        return _LEGACY_AND_BASELINE
    return _ONLY[decision.target]


def only(target: Target) -> tuple[Series, ...]:
    """The series of a request served by `target` outside the hash: just its own."""
    return _ONLY[target]


def choose(
    user_id: str | None,
    percent: int,
    policy: RoutingPolicy,
    *,
    salt: str | None = None,
    path: str = "/",
    forced: str | None = None,
) -> Decision:
    """Decide the target for one request. Pure: same inputs, same answer (replayable)."""
    if policy.pinned_paths:
        pinned = policy.pinned_target(path)
        if pinned is not None:
            return Decision(pinned, Reason.PINNED)
    if forced is not None and forced in _BY_NAME:
        return Decision(_BY_NAME[forced], Reason.FORCED)
    if percent <= 0:
        return Decision(LEGACY, Reason.ROLLED_OFF)
    if user_id is None:
        return Decision(LEGACY, Reason.NO_IDENTITY)
    if user_id in policy.deny_users:
        return Decision(LEGACY, Reason.DENY_LIST)
    if user_id in policy.allow_users:
        return Decision(CANARY, Reason.ALLOW_LIST)
    b = bucket(user_id, salt, policy.hash_variant)
    return Decision(CANARY if in_canary(b, percent) else LEGACY, Reason.HASH, b)
