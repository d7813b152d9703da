"""loadtest/demo/ledger.py: expected shares, the population, tallies, moves and flips."""

from __future__ import annotations

from collections import Counter

import pytest

from loadtest.demo.ledger import (
    CANARY,
    LEGACY,
    NO_SIDE,
    Ledger,
    expected_share,
    population,
    sides_since,
    split_moves,
)
from tests.loadtest.demo.runs import outcome

# DESIGN.md vectors: user_19 -> 0, user_33 -> 1, user_54 -> 4, bob -> 20, alice -> 70.
VECTOR_USERS = ("user_19", "user_33", "user_54", "bob", "alice")


@pytest.mark.parametrize(
    ("percent", "expected", "why"),
    [
        (0, 0.0, "idle: nobody on the canary"),
        (1, 0.2, "bucket 0 only"),
        (5, 0.6, "buckets 0, 1, 4"),
        (21, 0.8, "bob's bucket 20 joins"),
        (70, 0.8, "alice's bucket 70 is not below 70"),
        (71, 1.0, "everyone"),
        (100, 1.0, "everyone"),
    ],
)
def test_expected_share_follows_the_bucket_formula(percent, expected, why):
    assert expected_share(VECTOR_USERS, percent) == pytest.approx(expected), why


def test_expected_share_of_nobody_is_zero_and_a_salt_picks_another_slice():
    assert expected_share((), 50) == 0.0
    users = population(200)
    assert expected_share(users, 50, "wave-2") != expected_share(users, 50)


def test_population_is_stable_and_distinct():
    assert population(3) == ("demo-user-000", "demo-user-001", "demo-user-002")
    assert len(set(population(200))) == 200


def test_stage_tally_counts_requests_users_and_errors_per_side():
    ledger = Ledger(["a", "b", "c"])
    ledger.begin_stage("10%", 10)
    for item in (
        outcome("a", CANARY, 1),
        outcome("a", CANARY, 2, status=503),
        outcome("b", LEGACY, 3),
        outcome("c", LEGACY, 4),
        outcome("c", NO_SIDE, 5, status=None),
    ):
        ledger.record(item)
    tally = ledger.current
    assert tally.requests == Counter({CANARY: 2, LEGACY: 2, NO_SIDE: 1})
    assert tally.errors == Counter({CANARY: 1, NO_SIDE: 1})
    assert tally.canary_request_share == pytest.approx(2 / 5)
    assert tally.canary_user_share == pytest.approx(1 / 3)
    assert (tally.total_errors, tally.users_seen) == (2, 3)


@pytest.mark.parametrize(
    ("sides", "moves", "why"),
    [
        ((LEGACY, CANARY, CANARY), 0, "legacy -> canary is the stage growing"),
        ((CANARY, LEGACY), 1, "canary -> legacy is a move"),
        ((CANARY, NO_SIDE, CANARY), 0, "a failed request says nothing about routing"),
        ((CANARY, NO_SIDE, LEGACY), 1, "the last known side counts"),
        ((CANARY, LEGACY, CANARY, LEGACY), 2, "every move back counts"),
    ],
)
def test_ledger_records_every_move_from_canary_back_to_legacy(sides, moves, why):
    ledger = Ledger(["u"])
    ledger.begin_stage("5%", 5)
    for at, side in enumerate(sides):
        ledger.record(outcome("u", side, float(at)))
    assert len(ledger.moves) == moves, why


@pytest.mark.parametrize(
    ("rollback_at", "flips", "returns", "why"),
    [
        (None, 2, 0, "no rollback: every move is a flip"),
        (5.0, 1, 1, "answered before the rollback: flip; after: sent home"),
        (1.005, 0, 2, "in flight across the rollback: benefit of the doubt"),
        (100.0, 2, 0, "both answered before the rollback"),
    ],
)
def test_split_moves_uses_the_rollback_time(rollback_at, flips, returns, why):
    ledger = Ledger(["a", "b"])
    for user, first, second in (("a", 0.0, 1.0), ("b", 2.0, 9.0)):
        ledger.record(outcome(user, CANARY, first))
        ledger.record(outcome(user, LEGACY, second))
    got = split_moves(ledger.moves, rollback_at)
    assert (len(got[0]), len(got[1])) == (flips, returns), why


def test_sides_since_counts_requests_sent_from_the_cutoff_on():
    items = [outcome("a", CANARY, 1.0), outcome("a", LEGACY, 2.0), outcome("b", LEGACY, 3.0)]
    assert sides_since(items, 2.0) == Counter({LEGACY: 2})
    assert sides_since(items, None) == Counter()
