"""Routing vectors and properties (DESIGN.md "Routing"); pure, no I/O."""

from __future__ import annotations

import random

import pytest

from gateway.routing import (
    CANARY,
    LEGACY,
    Decision,
    Reason,
    RoutingPolicy,
    bucket,
    choose,
    in_baseline,
    series_of,
)

# The original runbook's formula; these must hold byte for byte (ION_SPEC §7.5 variant A).
VECTORS = [
    ("test-canary-001", 92),
    ("test-user-123", 58),
    ("user_19", 0),
    ("user_33", 1),
    ("user_54", 4),
    ("alice", 70),
    ("bob", 20),
    ("test_canary_user", 61),
    ("user_0", 31),
]

# The original in-app router's full-digest variant (ION_SPEC §7.5 variant B), opt-in only.
FULL_VECTORS = [("test-canary-001", 86), ("user_75", 0), ("user_38", 4), ("alice", 0), ("bob", 32)]

NO_OVERRIDES = RoutingPolicy()


@pytest.mark.parametrize(("user_id", "expected"), VECTORS)
def test_bucket_matches_the_runbook_formula(user_id, expected):
    assert bucket(user_id) == expected


@pytest.mark.parametrize(("user_id", "expected"), FULL_VECTORS)
def test_full_digest_variant(user_id, expected):
    assert bucket(user_id, variant="full") == expected


def test_at_five_percent_only_the_low_buckets_reach_the_canary():
    ids = [u for u, _ in VECTORS[:7]]
    on_canary = [u for u in ids if choose(u, 5, NO_OVERRIDES).target == CANARY]
    assert on_canary == ["user_19", "user_33", "user_54"]


def test_user_0_to_9999_at_five_percent_matches_the_original_count():
    assert sum(bucket(f"user_{i}") < 5 for i in range(10_000)) == 494
    assert sum(bucket(f"user_{i}", variant="full") < 5 for i in range(10_000)) == 508


@pytest.mark.parametrize("percent", [1, 5, 10, 25, 50, 75, 99])
def test_distribution_over_100k_ids_is_within_half_a_point(percent):
    rng = random.Random(percent)
    ids = [f"u-{rng.getrandbits(64):x}" for _ in range(100_000)]
    share = sum(choose(u, percent, NO_OVERRIDES).target == CANARY for u in ids) / len(ids)
    assert abs(share * 100 - percent) <= 0.5


def test_monotone_a_canary_user_stays_on_canary_as_stages_grow():
    stages = [5, 10, 25, 50, 100]
    for i in range(5_000):
        uid = f"user_{i}"
        sides = [choose(uid, p, NO_OVERRIDES).target for p in stages]
        first = sides.index(CANARY) if CANARY in sides else len(sides)
        assert all(side == CANARY for side in sides[first:]), (uid, sides)
    assert all(choose(f"user_{i}", 100, NO_OVERRIDES).target == CANARY for i in range(1000))


def test_salt_changes_the_slice_and_no_salt_is_the_plain_formula():
    assert bucket("alice", None) == bucket("alice", "") == 70
    assert bucket("alice", "r2") == bucket("alice:r2")
    salted = {u for u in (f"user_{i}" for i in range(2000)) if bucket(u, "r2") < 10}
    plain = {u for u in (f"user_{i}" for i in range(2000)) if bucket(u) < 10}
    assert salted != plain
    assert abs(len(salted) - len(plain)) < 80


def test_decision_carries_reason_and_bucket():
    d = choose("user_33", 5, NO_OVERRIDES)
    assert (d.target, d.reason, d.bucket) == (CANARY, "hash", 1)


POLICY = RoutingPolicy.build(
    allow={"vip-tester"},
    deny={"user_19"},
    pinned={"/chat/stream": "canary", "/api/legacy-only": "legacy"},
    hash_variant="prefix8",
)

# (why, user_id, percent, path, forced, expected target, expected reason)
OVERRIDE_TABLE = [
    ("pinned path wins over everything", "user_19", 0, "/chat/stream", LEGACY, CANARY, "pinned"),
    ("pinned prefix covers sub-paths", "alice", 50, "/api/legacy-only/x", None, LEGACY, "pinned"),
    ("a prefix is not a partial segment", "user_33", 5, "/chat/streamer", None, CANARY, "hash"),
    ("force header beats lists", "user_19", 50, "/chat", CANARY, CANARY, "forced"),
    ("force legacy beats the hash", "user_33", 100, "/chat", LEGACY, LEGACY, "forced"),
    ("percent 0 keeps everyone on legacy", "vip-tester", 0, "/chat", None, LEGACY, "rolled_off"),
    ("deny list beats the hash", "user_19", 5, "/chat", None, LEGACY, "deny_list"),
    ("allow list beats the hash", "vip-tester", 5, "/chat", None, CANARY, "allow_list"),
    ("no identity goes to legacy", None, 100, "/chat", None, LEGACY, "no_identity"),
    ("an unknown forced value is ignored", "alice", 5, "/chat", "blue", LEGACY, "hash"),
]


@pytest.mark.parametrize(
    ("why", "user_id", "percent", "path", "forced", "target", "reason"), OVERRIDE_TABLE
)
def test_overrides(why, user_id, percent, path, forced, target, reason):
    d = choose(user_id, percent, POLICY, path=path, forced=forced)
    assert (d.target, d.reason) == (target, reason), why


def test_decision_is_replayable():
    args = ("bob", 25, POLICY)
    assert {choose(*args, salt="s", path="/chat") for _ in range(10)} == {
        choose(*args, salt="s", path="/chat")
    }


# baseline series --------------------------------------------------------------------------

BASELINE_CASES = [
    ("hash-routed legacy is baseline", Decision(LEGACY, Reason.HASH, 70), 5, "all", True),
    ("canary is never baseline", Decision(CANARY, Reason.HASH, 2), 5, "all", False),
    ("no identity is never baseline", Decision(LEGACY, Reason.NO_IDENTITY), 5, "all", False),
    ("deny list is never baseline", Decision(LEGACY, Reason.DENY_LIST), 5, "all", False),
    ("pinned path is never baseline", Decision(LEGACY, Reason.PINNED), 5, "all", False),
    ("forced is never baseline", Decision(LEGACY, Reason.FORCED), 5, "all", False),
    ("same-size cohort: bucket p", Decision(LEGACY, Reason.HASH, 5), 5, "same_size", True),
    ("same-size cohort: bucket 2p-1", Decision(LEGACY, Reason.HASH, 9), 5, "same_size", True),
    ("same-size cohort: 2p is out", Decision(LEGACY, Reason.HASH, 10), 5, "same_size", False),
]


@pytest.mark.parametrize(("why", "decision", "percent", "buckets", "expected"), BASELINE_CASES)
def test_in_baseline(why, decision, percent, buckets, expected):
    assert in_baseline(decision, percent, buckets) is expected, why


def test_series_of_follows_the_salted_bucket():
    percent = 5
    salted = choose("alice", percent, RoutingPolicy(), salt="s2")
    assert salted.bucket == bucket("alice", "s2")
    expected = ("legacy", "baseline") if salted.target == "legacy" else ("canary",)
    assert series_of(salted, percent) == expected
