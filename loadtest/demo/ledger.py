"""The demo's bookkeeping (pure): who went where, per stage, and whether anyone flipped back.

Every answer the simulated users get becomes an `Outcome` (user, side from `X-Canary-Target`,
status, when it was sent and when it came back). The `Ledger` folds them into per-stage tallies
for the live table and remembers each user's last side. A user seen on the canary and later on
legacy is a `Move`; whether a move is a *flip* (a broken promise: routing is monotone while the
percent grows) or a *return* (the rollback sending everyone home) is decided afterwards, once the
rollback time is known, by `split_moves`. A move whose answer arrived before the rollback was
recorded is a flip for certain; one in flight across the rollback gets the benefit of the doubt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gateway.routing import CANARY, LEGACY, bucket

NO_SIDE = "none"  # transport error, or an answer without X-Canary-Target


def population(size: int, prefix: str = "demo-user") -> tuple[str, ...]:
    """Stable user ids, so the same run shows the same slice of users on the canary."""
    return tuple(f"{prefix}-{index:03d}" for index in range(size))


def expected_share(users: Sequence[str], percent: int, salt: str | None = None) -> float:
    """Fraction of this population whose bucket is below `percent` (DESIGN.md's formula)."""
    if not users:
        return 0.0
    return sum(bucket(user, salt) < percent for user in users) / len(users)


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request as a user saw it; `status` None means the request never got an answer."""

    user: str
    side: str
    status: int | None
    sent_at: float
    done_at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Move:
    """A user answered by the canary before and by legacy now."""

    user: str
    sent_at: float
    done_at: float
    stage: str


@dataclass
class StageTally:
    """What one stage looked like: requests and distinct users per side, errors."""

    label: str
    percent: int
    expected_users: float
    requests: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    users: dict[str, set[str]] = field(default_factory=lambda: {LEGACY: set(), CANARY: set()})

    def add(self, outcome: Outcome) -> None:
        self.requests[outcome.side] += 1
        if not outcome.ok:
            self.errors[outcome.side] += 1
        self.users.setdefault(outcome.side, set()).add(outcome.user)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def users_seen(self) -> int:
        return len(set().union(*self.users.values()))

    @property
    def canary_request_share(self) -> float:
        return share(self.requests[CANARY], self.total_requests)

    @property
    def canary_user_share(self) -> float:
        return share(len(self.users[CANARY]), self.users_seen)


class Ledger:
    """Folds outcomes into stage tallies and per-user sides; keeps them all for the summary."""

    def __init__(self, users: Sequence[str]) -> None:
        self.users = tuple(users)
        self.stages: list[StageTally] = []
        self.outcomes: list[Outcome] = []
        self.moves: list[Move] = []
        self.last_side: dict[str, str] = {}

    def begin_stage(self, label: str, percent: int, salt: str | None = None) -> StageTally:
        tally = StageTally(label, percent, expected_share(self.users, percent, salt))
        self.stages.append(tally)
        return tally

    @property
    def current(self) -> StageTally | None:
        return self.stages[-1] if self.stages else None

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.current is not None:
            self.current.add(outcome)
        if outcome.side not in (LEGACY, CANARY):
            return
        previous = self.last_side.get(outcome.user)
        if previous == CANARY and outcome.side == LEGACY:
            stage = self.current.label if self.current else "-"
            self.moves.append(Move(outcome.user, outcome.sent_at, outcome.done_at, stage))
        self.last_side[outcome.user] = outcome.side


def split_moves(moves: Iterable[Move], rollback_at: float | None) -> tuple[list[Move], list[Move]]:
    """(flips, returns): a move answered before the rollback happened is a flip.

    Without a rollback every canary -> legacy move is a flip.
    """
    flips: list[Move] = []
    returns: list[Move] = []
    for move in moves:
        is_flip = rollback_at is None or move.done_at < rollback_at
        (flips if is_flip else returns).append(move)
    return flips, returns


def sides_since(outcomes: Iterable[Outcome], since: float | None) -> Counter:
    """Requests per side among those *sent* at or after `since` (None: nothing counted)."""
    if since is None:
        return Counter()
    return Counter(o.side for o in outcomes if o.sent_at >= since)
